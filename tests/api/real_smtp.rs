//! A real SMTP server process for the mail tests: aiosmtpd (Python, installed by `.ci/run`)
//! running `smtp/smtp_server.py`, which writes each message it accepts to a directory as JSON.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct RealSmtp {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for RealSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Python that has aiosmtpd: `.ci/run`'s virtual environment, or the system's.
fn python() -> PathBuf {
    let venv = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/belfry/aiosmtpd/bin/python"));
    match venv {
        Some(python) if python.exists() => python,
        _ => PathBuf::from("python3"),
    }
}

impl RealSmtp {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("belfry-smtp-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/smtp/smtp_server.py");
        let child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd's Python starts (.ci/run installs it)");
        let server = Self { child, port, dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server did not start on port {port}");
    }

    /// What `BELFRY_SMTP_URL` names this server by.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until at least `n` messages were received, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{n} emails were expected; the SMTP server received {:?}",
            self.received()
        );
    }

    /// While busy, the server refuses every recipient for now (451).
    pub fn set_busy(&self, busy: bool) {
        let flag = self.dir.join("busy");
        if busy {
            std::fs::write(flag, b"").unwrap();
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }
}
