//! Unit tests of the QR renderers: what they draw is read back.

use super::*;
use crate::shares::text::to_compact;

/// Deterministic pseudo-random bytes.
fn bytes(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect()
}

/// Decodes the one QR code in a grayscale image with rqrr.
fn read_qr(width: usize, height: usize, pixel: impl Fn(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, pixel);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().unwrap().1
}

/// The PNG's size and pixels (asserting the format we promise).
fn decode_png(png: &[u8]) -> (usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Grayscale, png::BitDepth::Eight)
    );
    assert_eq!(info.width, info.height);
    (info.width as usize, pixels)
}

/// The module matrix an SVG of ours draws (quiet zone included), from its path.
fn svg_modules(svg: &str) -> (usize, Vec<bool>) {
    let view = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
    let size: usize = view.split(' ').next().unwrap().parse().unwrap();
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut modules = vec![false; size * size];
    for run in path.split('z').map(str::trim).filter(|r| !r.is_empty()) {
        // "M{x} {y}h{len}v1h-{len}"
        let rest = run.strip_prefix('M').unwrap();
        let (x, rest) = rest.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let (len, back) = rest.split_once("v1h-").unwrap();
        assert_eq!(len, back);
        let (x, y, len): (usize, usize, usize) =
            (x.parse().unwrap(), y.parse().unwrap(), len.parse().unwrap());
        for dx in 0..len {
            assert!(!modules[y * size + x + dx], "overlapping runs");
            modules[y * size + x + dx] = true;
        }
    }
    (size, modules)
}

/// The code's own matrix with the quiet zone.
fn expected_modules(data: &str) -> (usize, Vec<bool>) {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).unwrap();
    let (width, size) = (code.width(), code.width() + 2 * QUIET_ZONE);
    let colors = code.to_colors();
    let mut modules = vec![false; size * size];
    for y in 0..width {
        for x in 0..width {
            modules[(y + QUIET_ZONE) * size + x + QUIET_ZONE] =
                colors[y * width + x] == Color::Dark;
        }
    }
    (size, modules)
}

fn payloads() -> Vec<String> {
    vec![
        to_compact(&bytes(140)).to_string(),
        "hello, world: lower case and punctuation use byte mode".into(),
        to_compact(&bytes(2111)).to_string(), // the largest compact share that fits
    ]
}

#[test]
fn png_reads_back() {
    for data in payloads() {
        let png = png(&data).unwrap();
        let (side, pixels) = decode_png(&png);
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).unwrap();
        assert_eq!(side, (code.width() + 2 * QUIET_ZONE) * PNG_SCALE);
        assert!(pixels.iter().all(|&p| p == 0 || p == 255));
        assert!(
            pixels[..side * QUIET_ZONE * PNG_SCALE]
                .iter()
                .all(|&p| p == 255),
            "quiet zone"
        );
        assert_eq!(read_qr(side, side, |x, y| pixels[y * side + x]), data);
    }
}

#[test]
fn svg_draws_the_code_matrix_and_reads_back() {
    for data in payloads() {
        let svg = svg(&data).unwrap();
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert!(svg.contains("fill=\"#ffffff\""));
        assert_eq!(svg.matches("<path").count(), 1);
        let (size, modules) = svg_modules(&svg);
        assert_eq!(
            (size, &modules),
            (expected_modules(&data).0, &expected_modules(&data).1)
        );
        assert!(svg.contains(&format!("width=\"{}.{}mm\"", size / 2, size % 2 * 5)));
        // Rasterised at 4 pixels a module, it decodes.
        let side = size * 4;
        let text = read_qr(side, side, |x, y| {
            if modules[y / 4 * size + x / 4] {
                0
            } else {
                255
            }
        });
        assert_eq!(text, data);
    }
}

#[test]
fn too_large_is_refused_with_size_and_limit() {
    let fits = "A".repeat(MAX_ALPHANUMERIC);
    assert!(svg(&fits).is_ok());
    let too_many = "A".repeat(MAX_ALPHANUMERIC + 1);
    for err in [svg(&too_many).unwrap_err(), png(&too_many).unwrap_err()] {
        assert!(
            err.contains("3392 characters") && err.contains("at most 3391"),
            "{err}"
        );
    }
    assert!(png(&"a".repeat(MAX_BYTES)).is_ok());
    let err = svg(&"a".repeat(MAX_BYTES + 1)).unwrap_err();
    assert!(
        err.contains("2332 bytes") && err.contains("at most 2331"),
        "{err}"
    );
    // The largest compact share is 2111 bytes.
    assert!(svg(&to_compact(&bytes(2112))).is_err());
}
