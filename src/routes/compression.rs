//! Compressing API answers as the client accepts (`Accept-Encoding`): brotli before gzip,
//! only bodies of at least 1 KiB (smaller ones gain less than the header costs) and only
//! JSON and text, which compress; the answer says `Vary: Accept-Encoding`.

use std::io::Write;

use warp::http::HeaderValue;

/// Smallest body worth compressing.
pub const MIN_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        })
    }

    /// Told apart in the `ETag`: each encoding is its own representation.
    pub fn tag_suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => "-br",
            Encoding::Gzip => "-gz",
        }
    }
}

/// The encoding to use for a client's `Accept-Encoding`, if any.
pub fn negotiate(accept_encoding: Option<&str>) -> Option<Encoding> {
    let mut brotli = false;
    let mut gzip = false;
    for item in accept_encoding?.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        match name.as_str() {
            "br" => brotli = !refused,
            "gzip" => gzip = !refused,
            _ => {}
        }
    }
    if brotli {
        Some(Encoding::Brotli)
    } else if gzip {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

/// Whether a content type compresses well.
pub fn compressible(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("application/json") || ct.starts_with("text/") || ct.contains("javascript")
}

pub fn compress(body: &[u8], encoding: Encoding) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 4);
    match encoding {
        Encoding::Brotli => {
            // Quality 5: most of brotli's gain at a fraction of its slowest settings' cost.
            let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            writer.write_all(body)?;
            writer.flush()?;
        }
        Encoding::Gzip => {
            let mut writer = flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(6));
            writer.write_all(body)?;
            writer.finish()?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn brotli_is_preferred_and_q0_refuses() {
        assert_eq!(negotiate(Some("gzip, deflate, br")), Some(Encoding::Brotli));
        assert_eq!(negotiate(Some("gzip;q=1.0, br;q=0")), Some(Encoding::Gzip));
        assert_eq!(negotiate(Some("identity")), None);
        assert_eq!(negotiate(None), None);
    }

    #[test]
    fn both_encodings_round_trip() {
        let body = br#"{"members":[{"id":1,"name":"Ada"}]}"#.repeat(50);
        let gz = compress(&body, Encoding::Gzip).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        let br = compress(&body, Encoding::Brotli).unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        assert!(br.len() < body.len() / 5);
    }
}
