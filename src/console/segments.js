// How many SMS segments a text takes, as carriers count them: GSM-7 when every character is
// in the GSM 03.38 alphabet (160 per single SMS, 153 per part of a longer one; characters of
// the extension table take two and are never split across parts), else UCS-2 (70 UTF-16
// units, 67 per part; a surrogate pair is never split).

const BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENDED = "\f^{}\\[~]|€";
const GSM_BASIC = new Set(BASIC);
const GSM_EXTENDED = new Set(EXTENDED);

/** `{ encoding: "GSM-7" | "UCS-2", units, segments, perSegment }` for `text`. */
export function segmentsOf(text) {
  const chars = [...text];
  const gsm = chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENDED.has(c));
  const sizes = gsm
    ? chars.map((c) => (GSM_EXTENDED.has(c) ? 2 : 1))
    : chars.map((c) => (c.length === 2 ? 2 : 1));
  const units = sizes.reduce((a, b) => a + b, 0);
  const single = gsm ? 160 : 70;
  const part = gsm ? 153 : 67;
  if (units <= single) {
    return { encoding: gsm ? "GSM-7" : "UCS-2", units, segments: units ? 1 : 0, perSegment: single };
  }
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > part) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return { encoding: gsm ? "GSM-7" : "UCS-2", units, segments, perSegment: part };
}
