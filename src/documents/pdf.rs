//! A person-readable PDF of headings, paragraphs and labelled values, for
//! varuh's documents (the access report now; notices and registers
//! later). Text is laid out in lines on A4 pages in DejaVu Sans (shipped in
//! `assets/fonts`, its licence beside it: it covers Slovenian and the other
//! EU languages), embedded as a subset (`subsetter`) in a CID font with a
//! ToUnicode map, so that a reader, a screen reader and `pdftotext` get the
//! text back. The PDF syntax is `pdf-writer`'s; glyphs and widths come from
//! `ttf-parser`.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

struct Face {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    remap: subsetter::GlyphRemapper,
    /// New glyph id → the text it shows (for ToUnicode).
    text: BTreeMap<u16, char>,
}

impl Face {
    fn new(data: &'static [u8]) -> Face {
        let face = ttf_parser::Face::parse(data, 0).expect("the embedded font parses");
        let mut remap = subsetter::GlyphRemapper::new();
        remap.remap(0);
        Face { data, face, remap, text: BTreeMap::new() }
    }

    fn scale(&self) -> f32 {
        1000.0 / f32::from(self.face.units_per_em())
    }

    /// Width of `c` in 1/1000 of the font size.
    fn advance(&self, c: char) -> f32 {
        let g = self.face.glyph_index(c).or_else(|| self.face.glyph_index('?')).unwrap_or(ttf_parser::GlyphId(0));
        f32::from(self.face.glyph_hor_advance(g).unwrap_or(0)) * self.scale()
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// The string as the subset's glyph ids (two bytes each).
    fn encode(&mut self, s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let (g, shown) = match self.face.glyph_index(c) {
                Some(g) => (g, c),
                None => (self.face.glyph_index('?').unwrap_or(ttf_parser::GlyphId(0)), '?'),
            };
            let new = self.remap.remap(g.0);
            self.text.entry(new).or_insert(shown);
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

struct Run {
    page: usize,
    bold: bool,
    size: f32,
    x: f32,
    y: f32,
    glyphs: Vec<u8>,
}

/// A document being laid out.
pub struct Doc {
    title: String,
    faces: [Face; 2],
    runs: Vec<Run>,
    page: usize,
    y: f32,
}

impl Doc {
    pub fn new(title: &str) -> Doc {
        let mut d = Doc {
            title: title.to_string(),
            faces: [Face::new(REGULAR), Face::new(BOLD)],
            runs: Vec::new(),
            page: 0,
            y: PAGE_H - MARGIN,
        };
        d.block(title, true, 16.0, 0.0);
        d.y -= 6.0;
        d
    }

    pub fn heading(&mut self, text: &str) {
        self.y -= 10.0;
        self.block(text, true, 12.5, 0.0);
        self.y -= 2.0;
    }

    pub fn para(&mut self, text: &str) {
        self.block(text, false, 10.0, 0.0);
        self.y -= 4.0;
    }

    /// A labelled value: the label in bold, the value indented under it
    /// when it does not fit beside it.
    pub fn field(&mut self, label: &str, value: &str) {
        let size = 10.0;
        let label = format!("{label}: ");
        let lw = self.faces[1].width(&label, size);
        self.need(size * 1.4);
        let y = self.y - size;
        let glyphs = self.faces[1].encode(&label);
        self.runs.push(Run { page: self.page, bold: true, size, x: MARGIN, y, glyphs });
        let room = PAGE_W - 2.0 * MARGIN - lw;
        let first = wrap(&self.faces[0], value, size, room);
        match first.split_first() {
            Some((line, [])) => {
                let glyphs = self.faces[0].encode(line);
                self.runs.push(Run { page: self.page, bold: false, size, x: MARGIN + lw, y, glyphs });
                self.y -= size * 1.4;
            }
            _ => {
                self.y -= size * 1.4;
                self.block(value, false, size, 14.0);
            }
        }
    }

    pub fn gap(&mut self) {
        self.y -= 8.0;
    }

    fn need(&mut self, h: f32) {
        if self.y - h < MARGIN {
            self.page += 1;
            self.y = PAGE_H - MARGIN;
        }
    }

    fn block(&mut self, text: &str, bold: bool, size: f32, indent: f32) {
        let f = usize::from(bold);
        for para in text.split('\n') {
            for line in wrap(&self.faces[f], para, size, PAGE_W - 2.0 * MARGIN - indent) {
                self.need(size * 1.4);
                let glyphs = self.faces[f].encode(&line);
                self.runs.push(Run { page: self.page, bold, size, x: MARGIN + indent, y: self.y - size, glyphs });
                self.y -= size * 1.4;
            }
        }
    }

    /// The PDF file.
    pub fn finish(self) -> Vec<u8> {
        let Doc { title, faces, runs, page, .. } = self;
        let pages = page + 1;
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let mut next = 4;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let font_refs: Vec<[Ref; 5]> = (0..2).map(|_| [alloc(), alloc(), alloc(), alloc(), alloc()]).collect();
        let page_refs: Vec<(Ref, Ref)> = (0..pages).map(|_| (alloc(), alloc())).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_refs.iter().map(|p| p.0)).count(pages as i32);
        pdf.document_info(info).title(TextStr(&title)).producer(TextStr("varuh"));
        for (i, (page_ref, content_ref)) in page_refs.iter().enumerate() {
            let mut p = pdf.page(*page_ref);
            p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content_ref);
            let mut res = p.resources();
            let mut fonts = res.fonts();
            fonts.pair(Name(b"F0"), font_refs[0][0]);
            fonts.pair(Name(b"F1"), font_refs[1][0]);
            fonts.finish();
            res.finish();
            p.finish();
            let mut c = Content::new();
            for r in runs.iter().filter(|r| r.page == i) {
                c.begin_text();
                c.set_font(Name(if r.bold { b"F1" } else { b"F0" }), r.size);
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, r.x, r.y]);
                c.show(Str(&r.glyphs));
                c.end_text();
            }
            let data = deflate(&c.finish());
            pdf.stream(*content_ref, &data).filter(Filter::FlateDecode);
        }
        for (f, refs) in faces.iter().zip(&font_refs) {
            embed(&mut pdf, f, *refs);
        }
        pdf.finish()
    }
}

fn embed(pdf: &mut Pdf, f: &Face, [type0, cid, descriptor, cmap, file]: [Ref; 5]) {
    let name = format!(
        "VARUHA{}+{}",
        if f.data.as_ptr() == BOLD.as_ptr() { "B" } else { "R" },
        if f.data.as_ptr() == BOLD.as_ptr() { "DejaVuSans-Bold" } else { "DejaVuSans" }
    );
    let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    pdf.type0_font(type0)
        .base_font(Name(name.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let scale = f.scale();
    let mut widths: Vec<f32> = vec![0.0; usize::from(f.remap.num_gids())];
    for old in f.remap.remapped_gids() {
        if let Some(new) = f.remap.get(old) {
            widths[usize::from(new)] =
                f32::from(f.face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0)) * scale;
        }
    }
    let mut c = pdf.cid_font(cid);
    c.subtype(CidFontType::Type2)
        .base_font(Name(name.as_bytes()))
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    c.widths().consecutive(0, widths);
    c.finish();
    let bb = f.face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(Name(name.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bb.x_min) * scale,
            f32::from(bb.y_min) * scale,
            f32::from(bb.x_max) * scale,
            f32::from(bb.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(f.face.ascender()) * scale)
        .descent(f32::from(f.face.descender()) * scale)
        .cap_height(f32::from(f.face.capital_height().unwrap_or(f.face.ascender())) * scale)
        .stem_v(80.0)
        .font_file2(file);
    let mut map = pdf_writer::types::UnicodeCmap::new(Name(b"Varuh-UCS"), system);
    for (g, ch) in &f.text {
        map.pair(*g, *ch);
    }
    pdf.cmap(cmap, &map.finish());
    let sub = subsetter::subset(f.data, 0, &f.remap).unwrap_or_else(|_| f.data.to_vec());
    let data = deflate(&sub);
    pdf.stream(file, &data).filter(Filter::FlateDecode);
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Breaks `text` into lines no wider than `room` points (a word longer
/// than a line is cut where it overflows).
fn wrap(f: &Face, text: &str, size: f32, room: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if f.width(&candidate, size) <= room {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if f.width(&piece, size) > room {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        line = piece;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_a_pdf_with_a_subset_font_and_pages_as_needed() {
        let mut d = Doc::new("Poročilo o dostopu");
        d.heading("Zbirka: stranke");
        for i in 0..120 {
            d.field("Ime in priimek", &format!("Mojca Kovačič {i}"));
        }
        d.para(&"dolga beseda ".repeat(200));
        let pages = d.page + 1;
        let pdf = d.finish();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pages >= 3, "{pages}");
        assert!(pdf.len() < 200_000, "the font is a subset: {} bytes", pdf.len());
        // The text is not in the file as plain bytes (glyph ids, compressed).
        assert!(memchr::memmem::find(&pdf, "Kovačič".as_bytes()).is_none());
    }

    #[test]
    fn wrapping_keeps_lines_inside_the_room() {
        let f = Face::new(REGULAR);
        let lines = wrap(&f, "ena dve tri štiri pet šest sedem osem devet deset", 10.0, 60.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| f.width(l, 10.0) <= 60.0), "{lines:?}");
        assert_eq!(lines.join(" "), "ena dve tri štiri pet šest sedem osem devet deset");
        assert_eq!(wrap(&f, "", 10.0, 60.0), vec![String::new()]);
    }
}
