//! One microscope channel image: a single-page, 16-bit greyscale TIFF (uncompressed, LZW or
//! Deflate, strips or tiles, either byte order), decoded with the `tiff` crate into a
//! row-major `Vec<u16>`.
//!
//! [`read_gray16`] checks what the view shards promise: one sample per pixel, 16 bits, and the
//! size the pipeline names. Every way a file can fail becomes a [`TiffImageError`] whose text
//! is the reason a rejects row carries; nothing panics on a malformed file.
//!
//! ```
//! use assayflow::sources::tiff_image::{decode_gray16, TiffImageError};
//! // Eight bytes of a little-endian TIFF header and nothing else: a clear error, no panic.
//! let err = decode_gray16(b"II*\0\x08\0\0\0", None).unwrap_err();
//! assert!(matches!(err, TiffImageError::Decode(_)));
//! ```

use std::io::Cursor;
use std::path::Path;

use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult, Limits};

/// Largest image accepted, in pixels per side (the JUMP sites are 1080, Bray 696 x 520).
pub const DEFAULT_MAX_SIDE: u32 = 16_384;

/// A decoded channel image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gray16 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, row-major, `height * width` of them.
    pub pixels: Vec<u16>,
}

/// Why a TIFF could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TiffImageError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// Not a decodable TIFF (truncated, corrupt, unsupported compression).
    #[error("not a readable TIFF: {0}")]
    Decode(String),
    /// Not 16-bit greyscale.
    #[error("expected 16-bit greyscale, found {0}")]
    PixelType(String),
    /// Not the size the pipeline names.
    #[error("expected {expected_width}x{expected_height} pixels, found {width}x{height}")]
    Size {
        /// Width found.
        width: u32,
        /// Height found.
        height: u32,
        /// Width expected.
        expected_width: u32,
        /// Height expected.
        expected_height: u32,
    },
}

fn decode_err(e: tiff::TiffError) -> TiffImageError {
    match e {
        tiff::TiffError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            TiffImageError::Decode("truncated (unexpected end of file)".into())
        }
        other => TiffImageError::Decode(other.to_string()),
    }
}

/// Decodes a 16-bit greyscale TIFF held in memory; `expected` is (width, height) when the
/// size is prescribed. Only the first page is read.
pub fn decode_gray16(bytes: &[u8], expected: Option<(u32, u32)>) -> Result<Gray16, TiffImageError> {
    let mut limits = Limits::default();
    let side = u64::from(DEFAULT_MAX_SIDE);
    limits.decoding_buffer_size = (side * side * 2) as usize;
    let mut decoder = Decoder::new(Cursor::new(bytes))
        .map_err(decode_err)?
        .with_limits(limits);
    let (width, height) = decoder.dimensions().map_err(decode_err)?;
    match decoder.colortype().map_err(decode_err)? {
        ColorType::Gray(16) => {}
        other => return Err(TiffImageError::PixelType(describe(other))),
    }
    if let Some((expected_width, expected_height)) = expected
        && (width, height) != (expected_width, expected_height)
    {
        return Err(TiffImageError::Size {
            width,
            height,
            expected_width,
            expected_height,
        });
    }
    if width > DEFAULT_MAX_SIDE || height > DEFAULT_MAX_SIDE {
        return Err(TiffImageError::Decode(format!(
            "{width}x{height} is larger than {DEFAULT_MAX_SIDE} pixels a side"
        )));
    }
    match decoder.read_image().map_err(decode_err)? {
        DecodingResult::U16(pixels) if pixels.len() == width as usize * height as usize => {
            Ok(Gray16 {
                width,
                height,
                pixels,
            })
        }
        DecodingResult::U16(pixels) => Err(TiffImageError::Decode(format!(
            "{} pixels decoded for {width}x{height}",
            pixels.len()
        ))),
        _ => Err(TiffImageError::PixelType(
            "a sample format other than unsigned 16-bit".into(),
        )),
    }
}

/// Reads and decodes `path` (see [`decode_gray16`]).
pub fn read_gray16(path: &Path, expected: Option<(u32, u32)>) -> Result<Gray16, TiffImageError> {
    decode_gray16(&std::fs::read(path)?, expected)
}

fn describe(c: ColorType) -> String {
    match c {
        ColorType::Gray(b) => format!("{b}-bit greyscale"),
        ColorType::RGB(b) => format!("{b}-bit RGB"),
        ColorType::RGBA(b) => format!("{b}-bit RGBA"),
        ColorType::GrayA(b) => format!("{b}-bit greyscale with alpha"),
        ColorType::Palette(b) => format!("{b}-bit palette"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiff::encoder::{TiffEncoder, colortype};

    fn encode16(w: u32, h: u32, px: &[u16]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut enc = TiffEncoder::new(&mut out).expect("encoder");
        enc.write_image::<colortype::Gray16>(w, h, px)
            .expect("write");
        out.into_inner()
    }

    #[test]
    fn round_trips_and_checks_size() {
        let px: Vec<u16> = (0..12u16).map(|i| i * 1000).collect();
        let bytes = encode16(4, 3, &px);
        let img = decode_gray16(&bytes, Some((4, 3))).expect("decodes");
        assert_eq!((img.width, img.height, img.pixels), (4, 3, px));
        let err = decode_gray16(&bytes, Some((3, 4))).unwrap_err();
        assert_eq!(err.to_string(), "expected 3x4 pixels, found 4x3");
    }

    #[test]
    fn eight_bit_and_truncated_files_are_errors() {
        let mut out = Cursor::new(Vec::new());
        TiffEncoder::new(&mut out)
            .expect("encoder")
            .write_image::<colortype::Gray8>(2, 2, &[1, 2, 3, 4])
            .expect("write");
        let err = decode_gray16(&out.into_inner(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 16-bit greyscale, found 8-bit greyscale"
        );

        let px = vec![7u16; 64 * 64];
        let bytes = encode16(64, 64, &px);
        for cut in [0, 4, 100, bytes.len() / 2, bytes.len() - 1] {
            let err = decode_gray16(&bytes[..cut], None).unwrap_err();
            assert!(matches!(err, TiffImageError::Decode(_)), "cut {cut}: {err}");
        }
    }
}
