//! EXIF traces of editing: the Software tag of image editors, and a
//! modification time later than the capture time.

use exif::{In, Tag};

/// EXIF facts relevant to manipulation checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifFacts {
    pub software: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub date_time_original: Option<String>,
    /// `DateTime`: when the file was last changed.
    pub date_time: Option<String>,
}

impl ExifFacts {
    /// Whether a camera wrote the file (make or model present).
    pub fn from_camera(&self) -> bool {
        self.make.is_some() || self.model.is_some()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "software": self.software,
            "make": self.make,
            "model": self.model,
            "date_time_original": self.date_time_original,
            "date_time": self.date_time,
        })
    }
}

/// Image editors whose name in the Software tag means the file was saved
/// by an editor, not by the camera (lower case substrings).
const EDITORS: [&str; 22] = [
    "photoshop", "gimp", "lightroom", "affinity", "pixelmator", "paint.net", "paintshop", "snapseed", "picsart",
    "canva", "facetune", "photopea", "krita", "fotor", "befunky", "meitu", "photoscape", "corel", "inkscape",
    "acorn", "luminar", "photodirector",
];

/// The EXIF facts of a JPEG/PNG/TIFF file; empty when it has none.
pub fn read(bytes: &[u8]) -> ExifFacts {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)) else {
        return ExifFacts::default();
    };
    let text = |tag: Tag| {
        exif.get_field(tag, In::PRIMARY).map(|f| f.display_value().to_string().trim_matches('"').trim().to_string())
            .filter(|s| !s.is_empty())
    };
    ExifFacts {
        software: text(Tag::Software),
        make: text(Tag::Make),
        model: text(Tag::Model),
        date_time_original: text(Tag::DateTimeOriginal),
        date_time: text(Tag::DateTime),
    }
}

/// The editor named by the Software tag, if any.
pub fn editor(facts: &ExifFacts) -> Option<&'static str> {
    let software = facts.software.as_deref()?.to_lowercase();
    EDITORS.iter().copied().find(|e| software.contains(e))
}

/// Whether the file was changed after it was captured (both times present
/// and different).
pub fn modified_after_capture(facts: &ExifFacts) -> bool {
    matches!((&facts.date_time, &facts.date_time_original), (Some(a), Some(b)) if a != b)
}

/// Test helper: a JPEG with an APP1 EXIF segment carrying the given ASCII
/// tags (tag id, value), inserted after SOI.
#[cfg(test)]
pub(crate) fn with_exif(jpeg: &[u8], tags: &[(u16, &str)]) -> Vec<u8> {
    // Little-endian TIFF: header, IFD0 with `tags`, values after the IFD.
    let mut tiff: Vec<u8> = b"II*\0\x08\0\0\0".to_vec();
    let n = tags.len() as u16;
    let values_at = 8 + 2 + 12 * u32::from(n) + 4;
    let mut values: Vec<u8> = Vec::new();
    tiff.extend_from_slice(&n.to_le_bytes());
    for (tag, value) in tags {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes()); // ASCII
        tiff.extend_from_slice(&(v.len() as u32).to_le_bytes());
        if v.len() <= 4 {
            v.resize(4, 0);
            tiff.extend_from_slice(&v);
        } else {
            tiff.extend_from_slice(&(values_at + values.len() as u32).to_le_bytes());
            values.extend_from_slice(&v);
        }
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&values);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_software_and_camera_tags_are_read() {
        let jpeg = super::super::jpeg::tests::jpeg(&image::RgbImage::new(16, 16), 90);
        let edited = with_exif(&jpeg, &[(0x0131, "Adobe Photoshop 25.1 (Windows)"), (0x010F, "Canon")]);
        let facts = read(&edited);
        assert_eq!(facts.software.as_deref(), Some("Adobe Photoshop 25.1 (Windows)"));
        assert_eq!(editor(&facts), Some("photoshop"));
        assert!(facts.from_camera());
        let camera = with_exif(&jpeg, &[(0x0131, "HDR+ 1.0.5"), (0x0110, "Pixel 8")]);
        assert_eq!(editor(&read(&camera)), None);
        assert_eq!(read(&jpeg), ExifFacts::default());
        assert_eq!(read(b"garbage"), ExifFacts::default());
    }
}
