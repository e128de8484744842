//! JSON text formatted the way DataTrove's tools write it.
//!
//! Stats files are written as Python's `json.dumps(obj, indent=4)` writes them (ASCII only, Python's float
//! `repr`), so `stats.json` from trove and from DataTrove can be compared byte for byte. JSONL documents are
//! written the way `orjson.dumps` writes them ([`write_orjson_value`]).

use serde_json::Value;
use std::fmt::Write as _;

/// Shortest round-trip digits of a positive finite `f64` and the decimal point position:
/// `x = 0.DIGITS × 10^decpt`.
fn shortest_digits(x: f64, buf: &mut ryu::Buffer) -> (String, i32) {
    let s = buf.format_finite(x);
    let (mant, exp) = match s.find('e') {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let point = mant.find('.').unwrap_or(mant.len()) as i32;
    let mut digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut decpt = point + exp;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..lead);
    decpt -= lead as i32;
    let trimmed = digits.trim_end_matches('0').len();
    digits.truncate(trimmed);
    if digits.is_empty() {
        digits.push('0');
        decpt = 1;
    }
    (digits, decpt)
}

/// Formats a finite float with shortest digits: scientific notation when the exponent is `>= sci_hi` or
/// `<= sci_lo`, with `exp_digits` minimum exponent digits and a `+` on positive exponents.
fn format_float(out: &mut String, x: f64, sci_lo: i32, sci_hi: i32, exp_digits: usize) {
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    let mut buf = ryu::Buffer::new();
    let (digits, decpt) = shortest_digits(x.abs(), &mut buf);
    let exp10 = decpt - 1;
    if exp10 >= sci_hi || exp10 <= sci_lo {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp10 < 0 { '-' } else { '+' });
        let _ = write!(out, "{:0width$}", exp10.unsigned_abs(), width = exp_digits);
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-decpt) as usize));
        out.push_str(&digits);
    } else if decpt as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', decpt as usize - digits.len()));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
}

/// Python's `repr(float)` as `json.dumps` writes it (`Infinity`, `NaN` for non-finite values).
pub fn py_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        format_float(out, x, -5, 16, 2);
    }
}

/// A float as `orjson.dumps` writes it (`null` for non-finite values).
pub fn orjson_float(out: &mut String, x: f64) {
    if x.is_finite() {
        format_float(out, x, -6, 16, 1);
    } else {
        out.push_str("null");
    }
}

fn py_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn py_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        py_float(out, n.as_f64().unwrap_or(f64::NAN));
    }
}

/// `json.dumps(value)` of Python's standard library (separators `", "` and `": "`, ASCII only).
pub fn to_python_json_compact(value: &Value) -> String {
    fn write(out: &mut String, value: &Value) {
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => py_number(out, n),
            Value::String(s) => py_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(out, item);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    py_string(out, k);
                    out.push_str(": ");
                    write(out, v);
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    write(&mut out, value);
    out
}

/// `json.dumps(value, indent=4)` of Python's standard library.
pub fn to_python_json_pretty(value: &Value) -> String {
    let mut out = String::new();
    pretty(&mut out, value, 0);
    out
}

fn indent(out: &mut String, level: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', level * 4));
}

fn pretty(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => py_number(out, n),
        Value::String(s) => py_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                pretty(out, item, level + 1);
            }
            indent(out, level);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                py_string(out, k);
                out.push_str(": ");
                pretty(out, v, level + 1);
            }
            indent(out, level);
            out.push('}');
        }
    }
}

/// A mask with the high bit set in bytes of `w` that may need escaping in a JSON string (below 0x20,
/// `"` or `\\`). The lowest set byte is exact (borrows only create false positives above a true one).
#[inline]
fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    below_space | has_zero(w ^ (ONES * b'"' as u64)) | has_zero(w ^ (ONES * b'\\' as u64))
}

/// Escapes `s` as a JSON string the way orjson does (UTF-8 kept, control characters as `\u00XX`).
pub fn write_orjson_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    loop {
        // Find the next byte to escape: 8 bytes at a time, then byte by byte at the end.
        let found = loop {
            if let Some(c) = bytes.get(i..i + 8) {
                let m = escape_mask(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
                if m == 0 {
                    i += 8;
                    continue;
                }
                break Some(i + (m.trailing_zeros() / 8) as usize);
            }
            break bytes[i..].iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').map(|p| i + p);
        };
        let Some(at) = found else { break };
        let b = bytes[at];
        out.extend_from_slice(&bytes[start..at]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        i = at + 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes `value` compactly as `orjson.dumps` does.
pub fn write_orjson_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            let mut s = String::new();
            if let Some(i) = n.as_i64() {
                let _ = write!(s, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(s, "{u}");
            } else {
                orjson_float(&mut s, n.as_f64().unwrap_or(f64::NAN));
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::String(s) => write_orjson_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_orjson_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_orjson_str(out, k);
                out.push(b':');
                write_orjson_value(out, v);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(x: f64) -> String {
        let mut s = String::new();
        py_float(&mut s, x);
        s
    }

    fn orj(x: f64) -> String {
        let mut s = String::new();
        orjson_float(&mut s, x);
        s
    }

    #[test]
    fn python_float_repr() {
        // Expected values are Python 3.11's repr().
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.0, "0.0"),
        ];
        for (x, want) in cases {
            assert_eq!(py(x), want, "repr({x:e})");
        }
    }

    #[test]
    fn orjson_float_format() {
        // Expected values were printed by orjson 3.13.
        let cases = [
            (1e-6, "1e-6"),
            (1.5e-6, "1.5e-6"),
            (1e-5, "0.00001"),
            (9.99e15, "9990000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123.456, "123.456"),
            (1e21, "1e+21"),
            (5e-324, "5e-324"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (-0.0, "-0.0"),
            (1e-7, "1e-7"),
            (0.000025, "0.000025"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (f64::NAN, "null"),
        ];
        for (x, want) in cases {
            assert_eq!(orj(x), want, "orjson({x:e})");
        }
    }

    #[test]
    fn orjson_strings() {
        let mut out = Vec::new();
        write_orjson_str(&mut out, "x\u{1}\u{1f}\u{7f}\u{2028}é😀\"\\/\t\n\r\u{8}\u{c}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"x\\u0001\\u001f\u{7f}\u{2028}é😀\\\"\\\\/\\t\\n\\r\\b\\f\""
        );
    }

    #[test]
    fn escaping_agrees_with_serde_json_on_every_byte_position() {
        // serde_json escapes exactly like orjson for these; check every offset of the SWAR loop.
        for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "\u{7f}", " ", "~"] {
            for pos in 0..20 {
                let text = format!("{}{special}{}", "a".repeat(pos), "b".repeat(19 - pos));
                let mut out = Vec::new();
                write_orjson_str(&mut out, &text);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&text).unwrap(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn python_pretty_layout() {
        let v: Value = serde_json::json!([{"name": "📖 R", "n": 2, "x": {}, "l": [1.5, 2]}]);
        assert_eq!(
            to_python_json_pretty(&v),
            "[\n    {\n        \"name\": \"\\ud83d\\udcd6 R\",\n        \"n\": 2,\n        \"x\": {},\n        \"l\": [\n            1.5,\n            2\n        ]\n    }\n]"
        );
    }
}
