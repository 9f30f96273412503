//! QR codes of a share's compact payload ([`super::text::to_compact`]) for paper backups,
//! drawn from the code's module matrix (the `qrcode` crate is used without its renderers):
//! a standalone SVG and an 8-bit grayscale PNG, both with a four-module quiet zone. The
//! error correction level is M (a code still reads with about 15% of it damaged).
//!
//! The module matrix is kept in a zeroizing buffer; the SVG and PNG returned are as secret
//! as the share and are the caller's to protect.

use std::fmt::Write as _;

use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode};
use zeroize::Zeroizing;

/// Most characters one QR code holds (version 40, level M) when every character is QR
/// alphanumeric (digits, capital letters, space and `$%*+-./:`), as compact shares are.
pub const MAX_ALPHANUMERIC: usize = 3391;
/// Most bytes one QR code holds (version 40, level M) of any other text.
pub const MAX_BYTES: usize = 2331;
/// Light modules on each side of the code.
pub const QUIET_ZONE: usize = 4;
/// PNG pixels per module.
pub const PNG_SCALE: usize = 8;

/// The dark modules of a code, row by row, without the quiet zone.
struct Matrix {
    width: usize,
    dark: Zeroizing<Vec<bool>>,
}

impl Matrix {
    fn new(data: &str) -> Result<Matrix, String> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(
            |e| match e {
                QrError::DataTooLong => too_large(data),
                other => format!("cannot make a QR code of this data: {other}"),
            },
        )?;
        let width = code.width();
        let mut colors = code.into_colors();
        let dark = Zeroizing::new(colors.iter().map(|&c| c == Color::Dark).collect());
        // Best effort: `Color` cannot be zeroized, so overwrite it before it is freed.
        colors.iter_mut().for_each(|c| *c = Color::Light);
        std::hint::black_box(&colors);
        Ok(Matrix { width, dark })
    }

    /// Whether the module at (`x`, `y`) of the code (no quiet zone) is dark.
    fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// The runs of dark modules of row `y`: (first column, length).
    fn runs(&self, y: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.width)
            .filter(move |&x| self.is_dark(x, y) && (x == 0 || !self.is_dark(x - 1, y)))
            .map(move |x| {
                (
                    x,
                    (x..self.width).take_while(|&e| self.is_dark(e, y)).count(),
                )
            })
    }
}

fn too_large(data: &str) -> String {
    let alphanumeric =
        |c: char| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c);
    if data.chars().all(alphanumeric) {
        format!(
            "the data is {} characters; a QR code (error correction M) holds at most \
             {MAX_ALPHANUMERIC}: keep this share in the text or file form",
            data.len()
        )
    } else {
        format!(
            "the data is {} bytes; a QR code (error correction M) holds at most {MAX_BYTES} \
             bytes ({MAX_ALPHANUMERIC} characters of digits, capital letters, space and \
             $%*+-./:): keep this share in the text or file form",
            data.len()
        )
    }
}

/// A standalone SVG QR code of `data`: white background, quiet zone, one black `<path>`,
/// `viewBox` in modules, half a millimetre per module when printed at 100%.
pub fn svg(data: &str) -> Result<String, String> {
    let matrix = Matrix::new(data)?;
    let size = matrix.width + 2 * QUIET_ZONE;
    let runs: usize = (0..matrix.width).map(|y| matrix.runs(y).count()).sum();
    let mut out = String::with_capacity(400 + runs * 20 + matrix.width);
    let mm = format!("{}.{}mm", size / 2, size % 2 * 5);
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         viewBox=\"0 0 {size} {size}\" width=\"{mm}\" height=\"{mm}\" \
         shape-rendering=\"crispEdges\">"
    );
    let _ = writeln!(
        out,
        r##"<rect width="{size}" height="{size}" fill="#ffffff"/>"##
    );
    out.push_str(r##"<path fill="#000000" d=""##);
    for y in 0..matrix.width {
        for (x, len) in matrix.runs(y) {
            let _ = write!(
                out,
                "M{} {}h{len}v1h-{len}z",
                x + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
        out.push('\n');
    }
    out.push_str("\"/>\n</svg>\n");
    Ok(out)
}

/// A PNG QR code of `data`: 8-bit grayscale, [`PNG_SCALE`] pixels per module, quiet zone.
pub fn png(data: &str) -> Result<Vec<u8>, String> {
    let matrix = Matrix::new(data)?;
    let side = (matrix.width + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = Zeroizing::new(vec![255u8; side * side]);
    for y in 0..matrix.width {
        for (x, len) in matrix.runs(y) {
            for row in 0..PNG_SCALE {
                let start =
                    ((y + QUIET_ZONE) * PNG_SCALE + row) * side + (x + QUIET_ZONE) * PNG_SCALE;
                if let Some(run) = pixels.get_mut(start..start + len * PNG_SCALE) {
                    run.fill(0);
                }
            }
        }
    }
    let side = u32::try_from(side).map_err(|_| "the QR code is too large for a PNG".to_string())?;
    let error = |e: png::EncodingError| format!("cannot write the PNG: {e}");
    let mut out = Vec::with_capacity(pixels.len() / 4 + 4096);
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(error)?;
    writer.write_image_data(&pixels).map_err(error)?;
    writer.finish().map_err(error)?;
    Ok(out)
}

#[cfg(test)]
#[path = "qr_tests.rs"]
mod tests;
