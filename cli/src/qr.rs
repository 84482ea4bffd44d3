//! The link's QR code: drawn in the terminal with Unicode half blocks, or written as PNG or SVG.

use qrcode::{EcLevel, QrCode};

/// Modules of light margin around the code, as the QR standard asks.
pub(crate) const QUIET_ZONE: usize = 4;
/// Pixels per module in the PNG.
const PNG_SCALE: usize = 8;

/// ANSI: black text on a bright white background, so the code reads the same on any theme.
const BLACK_ON_WHITE: &str = "\x1b[30;107m";
/// ANSI: back to the terminal's colours.
const RESET: &str = "\x1b[0m";

/// How the terminal drawing uses ink and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// The ink is the dark modules, drawn black on white with ANSI colours.
    Color,
    /// The ink is the dark modules, no colours (right on light backgrounds).
    Plain,
    /// The ink is the light modules, no colours (right on dark backgrounds).
    Inverted,
}

/// A QR code of one text, with its quiet zone.
pub(crate) struct Qr {
    code: QrCode,
    /// Side of the code in modules, without the quiet zone.
    width: usize,
    /// Row-major, `true` for a dark module.
    dark: Vec<bool>,
}

impl std::fmt::Debug for Qr {
    // The code holds the link and so the one-time code: never show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qr").field("width", &self.width).finish()
    }
}

impl Qr {
    /// Encodes `text` (error correction level M: it survives some glare on a screen).
    pub(crate) fn new(text: &str) -> Result<Qr, String> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| format!("the link cannot be drawn as a QR code: {e}"))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Qr { code, width, dark })
    }

    /// The side in modules, quiet zone included.
    pub(crate) fn size(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Whether the module at (x, y) of the code with its quiet zone is dark.
    fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) else {
            return false;
        };
        x < self.width && y < self.width && self.dark.get(y * self.width + x) == Some(&true)
    }

    /// The code for a terminal: one character per module across and two modules down (upper
    /// and lower half blocks), quiet zone included, one line per two rows, each ending in `\n`.
    pub(crate) fn terminal(&self, style: Style) -> String {
        let size = self.size();
        let mut out = String::with_capacity((size + 16) * size.div_ceil(2) * 3);
        for y in (0..size).step_by(2) {
            if style == Style::Color {
                out.push_str(BLACK_ON_WHITE);
            }
            for x in 0..size {
                let (top, bottom) = (self.is_dark(x, y), self.is_dark(x, y + 1));
                let (top, bottom) = match style {
                    Style::Color | Style::Plain => (top, bottom),
                    Style::Inverted => (!top, !bottom),
                };
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            if style == Style::Color {
                out.push_str(RESET);
            }
            out.push('\n');
        }
        out
    }

    /// The code as an 8-bit greyscale PNG, 8 pixels per module, quiet zone included.
    pub(crate) fn png(&self) -> Result<Vec<u8>, String> {
        let side = self.size() * PNG_SCALE;
        let mut pixels = Vec::with_capacity(side * side);
        for py in 0..side {
            for px in 0..side {
                let dark = self.is_dark(px / PNG_SCALE, py / PNG_SCALE);
                pixels.push(if dark { 0 } else { 255 });
            }
        }
        let side = u32::try_from(side).map_err(|_| "the QR code is too large".to_owned())?;
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| format!("PNG encoding failed: {e}"))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| format!("PNG encoding failed: {e}"))?;
        writer
            .finish()
            .map_err(|e| format!("PNG encoding failed: {e}"))?;
        Ok(out)
    }

    /// The code as SVG (black on white, quiet zone included, at least 256 units wide).
    pub(crate) fn svg(&self) -> String {
        self.code
            .render::<qrcode::render::svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_lines_cover_the_code_and_quiet_zone() {
        let qr = Qr::new("https://example.com/x?code=abc").expect("encodes");
        let size = qr.size();
        for style in [Style::Plain, Style::Inverted, Style::Color] {
            let text = qr.terminal(style);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), size.div_ceil(2));
            for line in lines {
                let modules = line.chars().filter(|c| " ▀▄█".contains(*c)).count();
                assert_eq!(modules, size, "{style:?}");
            }
        }
        // The quiet zone: the first line is all light.
        let plain = qr.terminal(Style::Plain);
        assert!(plain.lines().next().is_some_and(|l| l.trim().is_empty()));
        let inverted = qr.terminal(Style::Inverted);
        assert!(
            inverted
                .lines()
                .next()
                .is_some_and(|l| l.chars().all(|c| c == '█'))
        );
    }

    #[test]
    fn too_long_is_an_error_not_a_panic() {
        assert!(Qr::new(&"x".repeat(10_000)).is_err());
    }
}
