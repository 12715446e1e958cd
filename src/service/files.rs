//! Image intake and stored files: size, magic bytes and dimension limits
//! checked before a full decode (with decoder limits set), original bytes
//! stored encrypted, metadata in `stored_file`.

use chrono::Utc;
use entity::stored_file;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::io::Cursor;

use crate::error::{AppError, AppResult, FieldError};
use crate::ids::{new_id, sha256_hex};
use crate::service::types::StorageFileType;
use crate::storage::BlobStore;

pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_IMAGE_SIDE: u32 = 8000;
/// Decoder allocation cap: an 8000×8000 RGBA image plus headroom.
const MAX_DECODE_ALLOC: u64 = 8000 * 8000 * 4 + 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
        }
    }

    fn to_image(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
        }
    }
}

/// An image that passed every check: safe to store and to hand to engines.
#[derive(Debug, Clone)]
pub struct ValidImage {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

fn unprocessable(field: &str, message: &str) -> AppError {
    AppError::Unprocessable {
        detail: format!("{field}: {message}"),
        errors: vec![FieldError::new(field, message)],
    }
}

/// Magic bytes only (JPEG `FF D8 FF`, PNG signature).
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(ImageFormat::Png)
    } else {
        None
    }
}

/// Validates an uploaded image: 413 over 10 MB or 8000 px a side, 415 when
/// not JPEG/PNG, 422 when it does not decode (truncated, corrupt). CPU-bound:
/// call from `spawn_blocking`.
pub fn validate_image(field: &str, bytes: Vec<u8>) -> AppResult<ValidImage> {
    if bytes.is_empty() {
        return Err(AppError::validation(field, "the image is empty"));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::too_large_field(field, "images are limited to 10 MB"));
    }
    let format = sniff(&bytes).ok_or_else(|| {
        AppError::unsupported_media_field(field, "only JPEG and PNG images are accepted")
    })?;
    let (width, height) = limited_reader(&bytes, format)
        .into_dimensions()
        .map_err(|e| decode_error(field, e))?;
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(AppError::too_large_field(
            field,
            format!("{width}×{height} px is over the {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} limit"),
        ));
    }
    if width == 0 || height == 0 {
        return Err(unprocessable(field, "the image has no pixels"));
    }
    match format {
        // Row by row: memory stays one row wide whatever the declared size.
        ImageFormat::Png => check_png_stream(field, &bytes)?,
        ImageFormat::Jpeg => check_jpeg(field, &bytes, width, height)?,
    }
    Ok(ValidImage { bytes, format, width, height })
}

/// Decodes every row of a PNG (and its CRCs and the end chunk) without
/// holding the image.
fn check_png_stream(field: &str, bytes: &[u8]) -> AppResult<()> {
    let bad = |e: png::DecodingError| unprocessable(field, &format!("the image does not decode: {e}"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(bad)?;
    while reader.next_row().map_err(bad)?.is_some() {}
    reader.finish().map_err(bad)?;
    if !is_complete(bytes, ImageFormat::Png) {
        return Err(unprocessable(field, "the image is truncated (no end marker)"));
    }
    Ok(())
}

/// A JPEG must carry enough entropy-coded data for its declared size (at
/// least one bit per 8×8 block of every component), end its last scan with
/// the end marker, and decode to the same pixels when noise is put between
/// its last scan and that marker: a complete scan stops before the noise,
/// a truncated one (even with `FF D9` appended) would read it.
fn check_jpeg(field: &str, bytes: &[u8], width: u32, height: u32) -> AppResult<()> {
    let layout = jpeg_layout(bytes).ok_or_else(|| unprocessable(field, "the JPEG structure is invalid"))?;
    if (layout.entropy_bytes as u64) * 8 < layout.min_blocks {
        return Err(unprocessable(
            field,
            &format!("the scan data cannot fill the declared {width}×{height} px (truncated or forged header)"),
        ));
    }
    if !is_complete(bytes, ImageFormat::Jpeg) {
        return Err(unprocessable(field, "the image is truncated (no end marker)"));
    }
    // One full-colour decode at a time (every component counts: a scan cut
    // inside the last blocks' chroma changes colour, not luminance).
    let _pixels = crate::service::decode_budget::acquire_blocking(u64::from(width) * u64::from(height));
    let plain = decoded_digest(bytes, layout.components).map_err(|e| unprocessable(field, &format!("the image does not decode: {e}")))?;
    let mut probe = Vec::with_capacity(bytes.len() + NOISE_LEN);
    probe.extend_from_slice(&bytes[..layout.last_scan_end]);
    probe.extend(noise());
    probe.extend_from_slice(&bytes[layout.last_scan_end..]);
    let probed = decoded_digest(&probe, layout.components).map_err(|_| unprocessable(field, "the image is truncated"))?;
    if plain != probed {
        return Err(unprocessable(field, "the image is truncated (its scan data ends early)"));
    }
    Ok(())
}

const NOISE_LEN: usize = 256;

/// Deterministic noise with no `FF` byte (so no marker and no stuffing).
fn noise() -> impl Iterator<Item = u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..NOISE_LEN).map(move |_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x >> 24) as u8 & 0xFE
    })
}

/// SHA-256 of the decoded pixels in the JPEG's own components (grey, YCbCr
/// or CMYK, no colour conversion that could hide a component).
fn decoded_digest(bytes: &[u8], components: usize) -> Result<[u8; 32], String> {
    use sha2::Digest;
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(match components {
            1 => ColorSpace::Luma,
            4 => ColorSpace::CMYK,
            3 => ColorSpace::YCbCr,
            _ => ColorSpace::RGB,
        })
        .set_max_width(MAX_IMAGE_SIDE as usize)
        .set_max_height(MAX_IMAGE_SIDE as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    Ok(sha2::Sha256::digest(&pixels).into())
}

/// What the marker structure of a JPEG says, read without decoding.
struct JpegLayout {
    /// Fewest 8×8 blocks the frame's components need.
    min_blocks: u64,
    /// Components of the frame (1 grey, 3 YCbCr, 4 CMYK/YCCK).
    components: usize,
    /// Bytes of entropy-coded data in all scans.
    entropy_bytes: usize,
    /// Where the last scan's data ends (its terminating marker).
    last_scan_end: usize,
}

fn jpeg_layout(b: &[u8]) -> Option<JpegLayout> {
    let be16 = |i: usize| -> Option<usize> { Some(usize::from(*b.get(i)?) << 8 | usize::from(*b.get(i + 1)?)) };
    let mut pos = 2;
    let mut min_blocks = None;
    let mut components = 0;
    let mut entropy_bytes = 0;
    let mut last_scan_end = None;
    loop {
        while b.get(pos) == Some(&0xFF) && b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if *b.get(pos)? != 0xFF {
            return None;
        }
        let marker = *b.get(pos + 1)?;
        match marker {
            0xD9 => break,
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            _ => {}
        }
        let len = be16(pos + 2)?;
        let segment = b.get(pos + 4..pos + 2 + len)?;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            min_blocks = Some(frame_blocks(segment)?);
            components = usize::from(*segment.get(5)?);
        }
        pos += 2 + len;
        if marker == 0xDA {
            let start = pos;
            while pos + 1 < b.len() {
                if b[pos] == 0xFF {
                    match b[pos + 1] {
                        0x00 | 0xD0..=0xD7 => pos += 2,
                        0xFF => pos += 1,
                        _ => break,
                    }
                } else {
                    pos += 1;
                }
            }
            entropy_bytes += pos - start;
            last_scan_end = Some(pos);
        }
    }
    Some(JpegLayout { min_blocks: min_blocks?, components, entropy_bytes, last_scan_end: last_scan_end? })
}

/// Blocks of a frame header (SOFn segment without its length).
fn frame_blocks(sof: &[u8]) -> Option<u64> {
    let height = u64::from(u16::from_be_bytes([*sof.get(1)?, *sof.get(2)?]));
    let width = u64::from(u16::from_be_bytes([*sof.get(3)?, *sof.get(4)?]));
    let count = usize::from(*sof.get(5)?);
    let comps: Vec<(u64, u64)> = (0..count)
        .map(|i| sof.get(6 + i * 3 + 1).map(|s| (u64::from(*s >> 4).max(1), u64::from(*s & 0x0F).max(1))))
        .collect::<Option<_>>()?;
    let hmax = comps.iter().map(|c| c.0).max()?;
    let vmax = comps.iter().map(|c| c.1).max()?;
    Some(
        comps
            .iter()
            .map(|(h, v)| (width * h).div_ceil(hmax).div_ceil(8) * (height * v).div_ceil(vmax).div_ceil(8))
            .sum(),
    )
}

/// Decoders fill a truncated image with grey instead of failing, so the end
/// marker is checked: a JPEG's EOI after its last start-of-scan, a PNG's IEND
/// chunk. (For JPEG this alone is not enough: see [`check_jpeg`].)
fn is_complete(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        ImageFormat::Jpeg => {
            let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
            let last_eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
            matches!((last_sos, last_eoi), (Some(sos), Some(eoi)) if eoi > sos)
        }
        ImageFormat::Png => bytes.windows(4).rposition(|w| w == b"IEND").is_some(),
    }
}

/// A decoder with the size and allocation limits set before any decoding.
fn limited_reader(bytes: &[u8], format: ImageFormat) -> image::ImageReader<Cursor<&[u8]>> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format.to_image());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader
}

fn decode_error(field: &str, e: image::ImageError) -> AppError {
    match e {
        image::ImageError::Limits(_) => AppError::too_large_field(
            field,
            format!("the image exceeds the decoding limits ({MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} px)"),
        ),
        other => unprocessable(field, &format!("the image does not decode: {other}")),
    }
}

/// Pixels the image's header declares (the largest accepted size when it
/// cannot be read): what a full decode will take from the decode budget.
pub fn declared_pixels(bytes: &[u8]) -> u64 {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok())
        .map(|(w, h)| u64::from(w) * u64::from(h))
        .unwrap_or(u64::from(MAX_IMAGE_SIDE).pow(2))
}

/// Validates on the blocking pool.
pub async fn validate_image_async(field: &str, bytes: Vec<u8>) -> AppResult<ValidImage> {
    let field = field.to_string();
    tokio::task::spawn_blocking(move || validate_image(&field, bytes))
        .await
        .map_err(AppError::internal)?
}

/// Where a file belongs.
#[derive(Debug, Clone)]
pub struct FileOwner<'a> {
    pub client_id: &'a str,
    /// `idv` or `ida`.
    pub session_kind: &'a str,
    pub session_id: &'a str,
    pub identity_id: Option<&'a str>,
}

/// Writes the encrypted bytes (durably) and returns the row to insert. The
/// caller inserts it inside its transaction, after this returns.
pub async fn put_image(
    storage: &BlobStore,
    owner: &FileOwner<'_>,
    file_type: StorageFileType,
    image: &ValidImage,
) -> AppResult<stored_file::ActiveModel> {
    let id = new_id();
    let object_key = format!(
        "clients/{}/{}/{}/{}",
        owner.client_id, owner.session_kind, owner.session_id, id
    );
    storage.put(&object_key, &image.bytes).await.map_err(AppError::Internal)?;
    Ok(stored_file::ActiveModel {
        id: Set(id),
        client_id: Set(owner.client_id.to_string()),
        session_kind: Set(owner.session_kind.to_string()),
        session_id: Set(owner.session_id.to_string()),
        identity_id: Set(owner.identity_id.map(str::to_string)),
        file_type: Set(file_type.as_str().to_string()),
        content_type: Set(image.format.content_type().to_string()),
        byte_size: Set(image.bytes.len() as i64),
        sha256: Set(sha256_hex(&image.bytes)),
        width: Set(Some(image.width as i32)),
        height: Set(Some(image.height as i32)),
        object_key: Set(object_key),
        master_key_id: Set(Some(storage.master_key().id().to_string())),
        created_at: Set(Utc::now()),
    })
}

/// The newest file of a type in a session (tenant-scoped).
pub async fn latest_in_session(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    file_types: &[StorageFileType],
) -> AppResult<Option<stored_file::Model>> {
    let types: Vec<&str> = file_types.iter().map(|t| t.as_str()).collect();
    Ok(stored_file::Entity::find()
        .filter(stored_file::Column::ClientId.eq(client_id))
        .filter(stored_file::Column::SessionId.eq(session_id))
        .filter(stored_file::Column::FileType.is_in(types))
        .order_by_desc(stored_file::Column::CreatedAt)
        .order_by_desc(stored_file::Column::Id)
        .one(db)
        .await?)
}

/// Every stored file of a session (tenant-scoped), oldest first: the
/// admin UI's image list.
pub async fn list_in_session(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<Vec<stored_file::Model>> {
    Ok(stored_file::Entity::find()
        .filter(stored_file::Column::ClientId.eq(client_id))
        .filter(stored_file::Column::SessionId.eq(session_id))
        .order_by_asc(stored_file::Column::CreatedAt)
        .order_by_asc(stored_file::Column::Id)
        .all(db)
        .await?)
}

/// Every stored file linked to an identity (tenant-scoped), newest first.
pub async fn list_for_identity(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<Vec<stored_file::Model>> {
    Ok(stored_file::Entity::find()
        .filter(stored_file::Column::ClientId.eq(client_id))
        .filter(stored_file::Column::IdentityId.eq(identity_id))
        .order_by_desc(stored_file::Column::CreatedAt)
        .order_by_desc(stored_file::Column::Id)
        .all(db)
        .await?)
}

/// One stored file of the client by id; 404 for any other id.
pub async fn find(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<stored_file::Model> {
    stored_file::Entity::find_by_id(id.to_string())
        .filter(stored_file::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("stored file"))
}

/// One stored file the caller's scope may read; 404 for any other id.
pub async fn find_in_scope(db: &impl ConnectionTrait, scope: &crate::service::tenancy::Scope, id: &str) -> AppResult<stored_file::Model> {
    let row = stored_file::Entity::find_by_id(id.to_string()).one(db).await?;
    scope.visible(row, |f| &f.client_id, "stored file")
}

/// Reads and decrypts a stored file's bytes.
pub async fn read_bytes(storage: &BlobStore, file: &stored_file::Model) -> AppResult<Vec<u8>> {
    storage
        .get(&file.object_key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::internal(format!("blob {} missing for stored file {}", file.object_key, file.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_a_real_png() {
        let v = validate_image("image", png(40, 30)).unwrap();
        assert_eq!((v.width, v.height, v.format), (40, 30, ImageFormat::Png));
    }

    #[test]
    fn rejects_garbage_truncation_and_giants() {
        assert_eq!(validate_image("image", b"GIF89a....".to_vec()).unwrap_err().status().as_u16(), 415);
        let mut truncated = png(40, 30);
        truncated.truncate(truncated.len() / 2);
        assert_eq!(validate_image("image", truncated).unwrap_err().status().as_u16(), 422);
        // A PNG header that claims 9000×9000 px is refused before decoding.
        let mut giant = png(1, 1);
        giant[16..20].copy_from_slice(&9000u32.to_be_bytes());
        giant[20..24].copy_from_slice(&9000u32.to_be_bytes());
        let status = validate_image("image", giant).unwrap_err().status().as_u16();
        assert!(status == 413 || status == 422, "{status}");
        assert_eq!(validate_image("image", vec![0xFF; MAX_IMAGE_BYTES + 1]).unwrap_err().status().as_u16(), 413);
    }

    #[test]
    fn a_truncated_jpeg_is_refused_although_the_decoder_would_pad_it() {
        let img = image::RgbImage::from_fn(200, 150, |x, y| image::Rgb([(x % 255) as u8, (y % 255) as u8, 7]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        let full = out.into_inner();
        assert!(validate_image("image", full.clone()).is_ok());
        let mut with_trailer = full.clone();
        with_trailer.extend_from_slice(&[0u8; 64]);
        assert!(validate_image("image", with_trailer).is_ok(), "bytes after EOI are tolerated");
        let truncated = full[..full.len() * 2 / 3].to_vec();
        assert_eq!(validate_image("image", truncated).unwrap_err().status().as_u16(), 422);
    }

    fn noisy_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([((x * 7 + y * 13) % 251) as u8, ((x ^ y) % 255) as u8, ((x * y) % 253) as u8])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_truncated_jpeg_with_an_end_marker_appended_is_refused() {
        let full = noisy_jpeg(320, 240);
        assert!(validate_image("image", full.clone()).is_ok());
        for keep in [full.len() / 2, full.len() * 9 / 10, full.len() - 40] {
            let mut forged = full[..keep].to_vec();
            forged.extend_from_slice(&[0xFF, 0xD9]);
            let err = validate_image("image", forged).unwrap_err();
            assert_eq!(err.status().as_u16(), 422, "kept {keep} of {} bytes: {err}", full.len());
        }
    }

    #[test]
    fn grey_jpegs_pass_and_are_checked_too() {
        let img = image::GrayImage::from_fn(200, 120, |x, y| image::Luma([((x * 5 + y * 11) % 256) as u8]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        let full = out.into_inner();
        assert!(validate_image("image", full.clone()).is_ok());
        let mut forged = full[..full.len() - 30].to_vec();
        forged.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(validate_image("image", forged).unwrap_err().status().as_u16(), 422);
    }

    #[test]
    fn a_jpeg_header_larger_than_its_scan_is_refused_before_decoding() {
        let mut forged = noisy_jpeg(64, 48);
        // Rewrite the frame header (SOF0) to claim 8000×8000 px.
        let sof = forged.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        forged[sof + 5..sof + 7].copy_from_slice(&8000u16.to_be_bytes());
        forged[sof + 7..sof + 9].copy_from_slice(&8000u16.to_be_bytes());
        let err = validate_image("image", forged).unwrap_err();
        assert_eq!(err.status().as_u16(), 422, "{err}");
        assert!(err.to_string().contains("cannot fill") || format!("{:?}", err).contains("cannot fill"), "{err:?}");
    }

    #[test]
    fn a_png_is_checked_row_by_row() {
        let img = image::RgbImage::from_fn(97, 61, |x, y| image::Rgb([x as u8, y as u8, 3]));
        let mut raw = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut raw, 97, 61);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(img.as_raw()).unwrap();
        }
        assert!(validate_image("image", raw.clone()).is_ok());
        let mut cut = raw.clone();
        cut.truncate(raw.len() - 30);
        assert_eq!(validate_image("image", cut).unwrap_err().status().as_u16(), 422);
    }
}
