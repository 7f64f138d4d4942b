//! mlmon-elk's native line reader: one model's prediction lines decoded into columns.
//!
//! The Python file source (`mlmon_elk.profile.native_lines`) hands over a chunk of
//! JSON lines; this decodes each line in one pass straight into the columns a window
//! is counted from (numbers as doubles, keywords and tokens as codes into per-chunk
//! tables), with no Python object per value, without the GIL, and a large chunk in
//! parts on several threads whose columns are joined after. It accepts only the shapes
//! the handler writes (a number under `num`, a string under `cat`, lists of strings for
//! tokens, the `@timestamp` in the handler's format); any other line — odd types,
//! duplicate keys, another time format, invalid JSON — is returned as a *misfit*, and
//! Python decodes and counts it by its exact path. So a chunk counts the same whichever
//! path each line took; the differential tests hold both paths to that.

use std::borrow::Cow;
use std::fmt;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// "No value" in a code column.
const NONE: u32 = u32::MAX;
const PREDICTION: &str = "mlmon.prediction";

/// Names and their positions, found by hashing or, first, as the name after the last found:
/// the handler writes a group's keys sorted, as the names are given.
struct Lookup {
    names: Vec<String>,
    index: FxHashMap<String, usize>,
}

impl Lookup {
    fn new(names: Vec<String>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Lookup { names, index }
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    fn get(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The position of `key`, trying `*next` first; `*next` moves past what was found.
    fn find(&self, key: &str, next: &mut usize) -> Option<usize> {
        let found = match self.names.get(*next) {
            Some(name) if name == key => Some(*next),
            _ => self.get(key),
        };
        if let Some(i) = found {
            *next = i + 1;
        }
        found
    }
}

/// Names of one group (`inputs` or `outputs`): the numeric columns and the keyword columns.
struct Names {
    index: Lookup,
    keywords: Lookup,
}

impl Names {
    fn new(names: Vec<String>, keywords: Vec<String>) -> Self {
        Names {
            index: Lookup::new(names),
            keywords: Lookup::new(keywords),
        }
    }
}

/// The decoder of one model's lines (built once per fetch).
#[pyclass(frozen, module = "mlmon_elk_native")]
struct Schema {
    model: String,
    /// `inputs`, then `outputs` (a group's index: `usize::from(outputs)`).
    groups: [Names; 2],
}

impl Schema {
    fn inputs(&self) -> &Names {
        &self.groups[0]
    }
}

#[pymethods]
impl Schema {
    /// `inputs` and `outputs`: the model's feature names (numeric columns, in this order);
    /// `*_keywords`: those that may hold a keyword (keyword columns, in this order).
    #[new]
    fn new(
        model: String,
        inputs: Vec<String>,
        outputs: Vec<String>,
        input_keywords: Vec<String>,
        output_keywords: Vec<String>,
    ) -> PyResult<Self> {
        for (names, keywords) in [(&inputs, &input_keywords), (&outputs, &output_keywords)] {
            if let Some(odd) = keywords.iter().find(|k| !names.contains(k)) {
                let msg = format!("keyword column {odd:?} is not one of the group's names");
                return Err(pyo3::exceptions::PyValueError::new_err(msg));
            }
        }
        Ok(Schema {
            model,
            groups: [
                Names::new(inputs, input_keywords),
                Names::new(outputs, output_keywords),
            ],
        })
    }

    /// The model's predictions among `lines` (a list of bytes), decoded into a `Block`.
    ///
    /// The lines are decoded without the GIL (so Python reads the next chunk meanwhile),
    /// in `parts` runs on as many threads — by default one per core (up to `MAX_PARTS`),
    /// each of at least `MIN_PART_LINES` lines.
    #[pyo3(signature = (lines, parts=None))]
    fn decode(
        &self,
        py: Python<'_>,
        lines: &Bound<'_, PyList>,
        parts: Option<usize>,
    ) -> PyResult<Block> {
        let owned = lines
            .iter()
            .map(|item| item.cast_into::<PyBytes>())
            .collect::<Result<Vec<_>, _>>()?;
        let slices: Vec<&[u8]> = owned.iter().map(|b| b.as_bytes()).collect();
        let parts = parts.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            cores.min(MAX_PARTS).min(slices.len() / MIN_PART_LINES)
        });
        Ok(py.detach(|| self.decode_lines(&slices, parts)))
    }
}

/// Most threads one chunk is decoded on by default.
const MAX_PARTS: usize = 4;
/// Fewest lines worth a thread of their own by default.
const MIN_PART_LINES: usize = 1_000;

impl Schema {
    fn decode_lines(&self, lines: &[&[u8]], parts: usize) -> Block {
        let size = lines.len().div_ceil(parts.max(1)).max(1);
        if parts <= 1 {
            return Block::merged(vec![self.part(lines, 0)]);
        }
        let decoded = std::thread::scope(|scope| {
            let threads: Vec<_> = lines
                .chunks(size)
                .enumerate()
                .map(|(k, chunk)| scope.spawn(move || self.part(chunk, k * size)))
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("a decoding thread panicked"))
                .collect()
        });
        Block::merged(decoded)
    }

    /// `lines` decoded into one part; `first` is the chunk's index of its first line.
    fn part(&self, lines: &[&[u8]], first: usize) -> Part {
        let mut decoder = Decoder::new(self);
        for (i, line) in lines.iter().enumerate() {
            decoder.line((first + i) as u32, line);
        }
        decoder.block
    }
}

/// Distinct strings of a chunk, each with its code (its position).
#[derive(Default)]
struct Table {
    codes: FxHashMap<String, u32>,
    values: Vec<String>,
}

impl Table {
    fn code(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value) {
            return code;
        }
        let code = self.values.len() as u32;
        self.codes.insert(value.to_owned(), code);
        self.values.push(value.to_owned());
        code
    }
}

/// A chunk's decoded columns: a row per prediction of the model, and the lines left to
/// Python. `N` and `K` hold each group's numbers and keyword codes: a part keeps them a
/// row at a time as one thread decodes its run of lines, a block field-major.
struct Columns<N, K> {
    rows: usize,
    /// Line indices (in the chunk) Python decodes and counts by its exact path.
    misfits: Vec<u32>,
    stamps: Vec<i64>,
    versions: Vec<u32>,
    failures: Vec<u8>,
    latency: Vec<f64>,
    /// Each group's numbers (NaN where a prediction has none) and keyword codes.
    numbers: [N; 2],
    keywords: [K; 2],
    /// `(row, input, value)` of each `token_count`.
    count_rows: Vec<u32>,
    count_inputs: Vec<u32>,
    count_values: Vec<f64>,
    /// `(row, input, token)` of each distinct token of a prediction's `tokens` list.
    token_rows: Vec<u32>,
    token_inputs: Vec<u32>,
    token_codes: Vec<u32>,
    /// Codes of the `present` and `null` name lists' raw JSON (a model repeats a few).
    lists: [Vec<u32>; 2],
    /// The strings the codes stand for: `tables[VERSIONS]`, `[KEYWORDS]`, `[TOKENS]`, `[LISTS]`.
    tables: [Table; 4],
}

impl<N, K> Columns<N, K> {
    /// No rows yet; `numbers` and `keywords` as each group's are to be kept.
    fn new(numbers: [N; 2], keywords: [K; 2]) -> Self {
        Columns {
            rows: 0,
            misfits: Vec::new(),
            stamps: Vec::new(),
            versions: Vec::new(),
            failures: Vec::new(),
            latency: Vec::new(),
            numbers,
            keywords,
            count_rows: Vec::new(),
            count_inputs: Vec::new(),
            count_values: Vec::new(),
            token_rows: Vec::new(),
            token_inputs: Vec::new(),
            token_codes: Vec::new(),
            lists: [Vec::new(), Vec::new()],
            tables: Default::default(),
        }
    }
}

const VERSIONS: usize = 0;
const KEYWORDS: usize = 1;
const TOKENS: usize = 2;
const LISTS: usize = 3;

/// What one thread decodes: a run of a chunk's lines.
type Part = Columns<Rows<f64>, Rows<u32>>;

/// One chunk decoded: its parts joined, columns field-major (names × rows), codes into
/// one set of tables.
#[pyclass(module = "mlmon_elk_native")]
struct Block(Columns<Vec<f64>, Vec<u32>>);

/// A part's codes into one of the joined tables (`NONE` stays `NONE`).
struct Recode(Vec<u32>);

impl Recode {
    fn new(joined: &mut Table, part: &Table) -> Self {
        Recode(part.values.iter().map(|v| joined.code(v)).collect())
    }

    fn get(&self, code: u32) -> u32 {
        if code == NONE {
            NONE
        } else {
            self.0[code as usize]
        }
    }
}

impl Block {
    /// `parts` (consecutive runs of one chunk) as one block.
    fn merged(parts: Vec<Part>) -> Block {
        let mut tables: [Table; 4] = Default::default();
        let recodes: Vec<[Recode; 4]> = parts
            .iter()
            .map(|p| std::array::from_fn(|t| Recode::new(&mut tables[t], &p.tables[t])))
            .collect();
        let mut b = Columns::new([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
        b.rows = parts.iter().map(|p| p.rows).sum();
        b.tables = tables;
        let mut offset = 0;
        for (p, codes) in parts.iter().zip(&recodes) {
            b.misfits.extend(&p.misfits);
            b.stamps.extend(&p.stamps);
            b.versions
                .extend(p.versions.iter().map(|&c| codes[VERSIONS].get(c)));
            b.failures.extend(&p.failures);
            b.latency.extend(&p.latency);
            b.count_rows.extend(p.count_rows.iter().map(|r| r + offset));
            b.count_inputs.extend(&p.count_inputs);
            b.count_values.extend(&p.count_values);
            b.token_rows.extend(p.token_rows.iter().map(|r| r + offset));
            b.token_inputs.extend(&p.token_inputs);
            b.token_codes
                .extend(p.token_codes.iter().map(|&c| codes[TOKENS].get(c)));
            for k in 0..2 {
                b.lists[k].extend(p.lists[k].iter().map(|&c| codes[LISTS].get(c)));
            }
            offset += p.rows as u32;
        }
        for g in 0..2 {
            let width = parts.first().map_or(0, |p| p.numbers[g].width);
            let mut numbers = Vec::with_capacity(b.rows * width);
            for field in 0..width {
                for p in &parts {
                    numbers.extend(p.numbers[g].values.iter().skip(field).step_by(width));
                }
            }
            b.numbers[g] = numbers;
            let width = parts.first().map_or(0, |p| p.keywords[g].width);
            let mut keywords = Vec::with_capacity(b.rows * width);
            for field in 0..width {
                for (p, codes) in parts.iter().zip(&recodes) {
                    let column = p.keywords[g].values.iter().skip(field).step_by(width);
                    keywords.extend(column.map(|&c| codes[KEYWORDS].get(c)));
                }
            }
            b.keywords[g] = keywords;
        }
        Block(b)
    }
}

fn bytes_of<'py, T: Copy>(py: Python<'py>, values: &[T]) -> Bound<'py, PyBytes> {
    // SAFETY: T is a plain number type (i64, u32, u8, f64): any byte view of it is valid.
    let raw = unsafe {
        std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values))
    };
    PyBytes::new(py, raw)
}

/// Rows of `width` values kept one after the other (one copy per row), given out
/// field-major (each field's column one after the other).
struct Rows<T> {
    values: Vec<T>,
    width: usize,
}

impl<T: Copy> Rows<T> {
    fn new(width: usize) -> Self {
        Rows {
            values: Vec::new(),
            width,
        }
    }

    fn push(&mut self, row: &[T]) {
        self.values.extend_from_slice(row);
    }
}

/// Three parallel columns, as bytes.
type Three<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
);

#[pymethods]
impl Block {
    #[getter]
    fn rows(&self) -> usize {
        self.0.rows
    }
    /// Line indices Python decodes and counts by its exact path.
    #[getter]
    fn misfits(&self) -> Vec<u32> {
        self.0.misfits.clone()
    }
    /// Nanoseconds since the epoch (int64 bytes).
    fn stamps<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.stamps)
    }
    /// Codes into `version_table` (uint32 bytes).
    fn versions<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.versions)
    }
    /// 1 where `event.outcome` is `failure` (uint8 bytes).
    fn failures<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.failures)
    }
    fn latency<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.latency)
    }
    /// The group's numeric columns one after the other (float64 bytes, names × rows).
    fn numbers<'py>(&self, py: Python<'py>, outputs: bool) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.numbers[usize::from(outputs)])
    }
    /// The group's keyword columns one after the other (uint32 bytes, keywords × rows).
    fn keywords<'py>(&self, py: Python<'py>, outputs: bool) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.keywords[usize::from(outputs)])
    }
    /// `(rows, inputs, values)` of the token counts (uint32, uint32, float64 bytes).
    fn token_counts<'py>(&self, py: Python<'py>) -> Three<'py> {
        (
            bytes_of(py, &self.0.count_rows),
            bytes_of(py, &self.0.count_inputs),
            bytes_of(py, &self.0.count_values),
        )
    }
    /// `(rows, inputs, codes)` of the tokens (uint32 bytes each).
    fn tokens<'py>(&self, py: Python<'py>) -> Three<'py> {
        (
            bytes_of(py, &self.0.token_rows),
            bytes_of(py, &self.0.token_inputs),
            bytes_of(py, &self.0.token_codes),
        )
    }
    /// Codes into `list_table` of the `present` (or `null`) lists (uint32 bytes).
    fn lists<'py>(&self, py: Python<'py>, null: bool) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.0.lists[usize::from(null)])
    }
    fn version_table(&self) -> Vec<String> {
        self.0.tables[VERSIONS].values.clone()
    }
    fn keyword_table(&self) -> Vec<String> {
        self.0.tables[KEYWORDS].values.clone()
    }
    fn token_table(&self) -> Vec<String> {
        self.0.tables[TOKENS].values.clone()
    }
    fn list_table(&self) -> Vec<String> {
        self.0.tables[LISTS].values.clone()
    }
}

/// What one line holds, before it is kept as a row.
struct Line {
    stamp: Option<i64>,
    prediction: bool,
    failure: bool,
    this_model: bool,
    version: u32,
    latency: f64,
    numbers: [Vec<f64>; 2],
    keywords: [Vec<u32>; 2],
    lists: [u32; 2],
    /// Which names this line set already (a key given twice makes the line a misfit).
    seen: Vec<bool>,
    seen_counts: Vec<bool>,
    seen_tokens: Vec<bool>,
    /// The next name expected in each group's `num` and `cat` objects (see `Lookup::find`).
    next: [usize; 4],
}

struct Decoder<'s> {
    schema: &'s Schema,
    block: Part,
    line: Line,
    /// One list's token codes, deduplicated before they are kept.
    list: Vec<u32>,
}

fn part(schema: &Schema) -> Part {
    let [inputs, outputs] = &schema.groups;
    Columns::new(
        [
            Rows::new(inputs.index.len()),
            Rows::new(outputs.index.len()),
        ],
        [
            Rows::new(inputs.keywords.len()),
            Rows::new(outputs.keywords.len()),
        ],
    )
}

impl<'s> Decoder<'s> {
    fn new(schema: &'s Schema) -> Self {
        let [inputs, outputs] = &schema.groups;
        let (n_in, n_out) = (inputs.index.len(), outputs.index.len());
        Decoder {
            schema,
            block: part(schema),
            line: Line {
                stamp: None,
                prediction: false,
                failure: false,
                this_model: false,
                version: NONE,
                latency: f64::NAN,
                numbers: [vec![f64::NAN; n_in], vec![f64::NAN; n_out]],
                keywords: [
                    vec![NONE; inputs.keywords.len()],
                    vec![NONE; outputs.keywords.len()],
                ],
                lists: [NONE; 2],
                seen: vec![false; S_NAMES + 2 * (n_in + n_out)],
                seen_counts: vec![false; n_in],
                seen_tokens: vec![false; n_in],
                next: [0; 4],
            },
            list: Vec::new(),
        }
    }

    fn reset(&mut self) {
        let l = &mut self.line;
        l.stamp = None;
        l.prediction = false;
        l.failure = false;
        l.this_model = false;
        l.version = NONE;
        l.latency = f64::NAN;
        for g in 0..2 {
            l.numbers[g].fill(f64::NAN);
            l.keywords[g].fill(NONE);
        }
        l.lists = [NONE; 2];
        l.seen.fill(false);
        l.seen_counts.fill(false);
        l.seen_tokens.fill(false);
        l.next = [0; 4];
    }

    fn line(&mut self, index: u32, bytes: &[u8]) {
        self.reset();
        let (counts, tokens) = (self.block.count_rows.len(), self.block.token_rows.len());
        // Valid UTF-8 checked once for the line, not again for each string in it.
        let Ok(text) = std::str::from_utf8(bytes) else {
            self.block.misfits.push(index);
            return;
        };
        let mut json = serde_json::Deserializer::from_str(text);
        let parsed = Document(self, ())
            .deserialize(&mut json)
            .and_then(|()| json.end());
        let l = &self.line;
        let keep = parsed.is_ok() && l.prediction && l.this_model;
        if parsed.is_ok() && !keep {
            // Another model's line or another dataset's: not counted, by either path.
            self.drop_since(counts, tokens);
            return;
        }
        let (Ok(()), Some(stamp), true) = (parsed, l.stamp, l.version != NONE) else {
            self.drop_since(counts, tokens);
            self.block.misfits.push(index);
            return;
        };
        let b = &mut self.block;
        b.stamps.push(stamp);
        b.versions.push(l.version);
        b.failures.push(u8::from(l.failure));
        b.latency.push(l.latency);
        for g in 0..2 {
            b.numbers[g].push(&l.numbers[g]);
            b.keywords[g].push(&l.keywords[g]);
            b.lists[g].push(l.lists[g]);
        }
        b.rows += 1;
    }

    /// Forget the token entries a line added before it turned out not to be kept.
    fn drop_since(&mut self, counts: usize, tokens: usize) {
        let b = &mut self.block;
        b.count_rows.truncate(counts);
        b.count_inputs.truncate(counts);
        b.count_values.truncate(counts);
        b.token_rows.truncate(tokens);
        b.token_inputs.truncate(tokens);
        b.token_codes.truncate(tokens);
    }

    fn row(&self) -> u32 {
        self.block.rows as u32
    }

    /// The `seen` slot of group `g`'s name `i` under `num` (or, `keyword`, under `cat`).
    fn name_slot(&self, g: usize, i: usize, keyword: bool) -> usize {
        S_NAMES + 2 * (g * self.schema.inputs().index.len() + i) + usize::from(keyword)
    }
}

/// A string borrowed from the line where it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON number as a double, `None` for null; a value that is no finite number misfits.
fn number<'de, A: MapAccess<'de>>(map: &mut A) -> Result<f64, A::Error> {
    match map.next_value::<Option<f64>>()? {
        None => Ok(f64::NAN),
        Some(x) if x.is_finite() => Ok(x),
        Some(_) => Err(de::Error::custom("not a finite number")),
    }
}

fn twice<E: de::Error>(seen: &mut bool) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        return Err(E::custom("a key given twice"));
    }
    Ok(())
}

/// An object visited key by key into the decoder (null: nothing); `$body` handles one key.
macro_rules! object {
    ($name:ident, |$dec:ident, $key:ident, $map:ident| $body:block) => {
        object!($name, (), |$dec, _extra, $key, $map| $body);
    };
    ($name:ident, $extra_ty:ty, |$dec:ident, $extra:ident, $key:ident, $map:ident| $body:block) => {
        struct $name<'d, 's>(&'d mut Decoder<'s>, $extra_ty);
        impl<'de> DeserializeSeed<'de> for $name<'_, '_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_any(self)
            }
        }
        impl<'de> Visitor<'de> for $name<'_, '_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            #[allow(unused_variables)]
            fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<(), A::Error> {
                let $dec = self.0;
                let $extra = self.1;
                while let Some(key) = $map.next_key::<Str<'de>>()? {
                    let $key: &str = &key.0;
                    $body
                }
                Ok(())
            }
        }
    };
}

// Slots of `Line::seen` for the fixed keys; names' slots follow.
const S_STAMP: usize = 0;
const S_EVENT: usize = 1;
const S_MLMON: usize = 2;
const S_DATASET: usize = 3;
const S_OUTCOME: usize = 4;
const S_MODEL: usize = 5;
const S_NAME: usize = 6;
const S_VERSION: usize = 7;
const S_LATENCY: usize = 8;
const S_INPUTS: usize = 9;
const S_OUTPUTS: usize = 10;
const S_COUNTS: usize = 11;
const S_TOKENS: usize = 12;
/// `present`, then `null`.
const S_LISTS: usize = 13;
/// `num` and `cat` of `inputs`, then of `outputs`.
const S_GROUPS: usize = 15;
const S_NAMES: usize = 19;

object!(Document, |dec, key, map| {
    match key {
        "@timestamp" => {
            twice(&mut dec.line.seen[S_STAMP])?;
            let stamp = map.next_value::<Option<Str>>()?;
            match stamp.as_ref().and_then(|s| stamp_ns(&s.0)) {
                Some(ns) => dec.line.stamp = Some(ns),
                None => return Err(de::Error::custom("not the handler's time format")),
            }
        }
        "event" => {
            twice(&mut dec.line.seen[S_EVENT])?;
            map.next_value_seed(Event(dec, ()))?;
        }
        "mlmon" => {
            twice(&mut dec.line.seen[S_MLMON])?;
            map.next_value_seed(Mlmon(dec, ()))?;
        }
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Event, |dec, key, map| {
    match key {
        "dataset" => {
            twice(&mut dec.line.seen[S_DATASET])?;
            let value = map.next_value::<Option<Str>>()?;
            dec.line.prediction = value.is_some_and(|v| v.0 == PREDICTION);
        }
        "outcome" => {
            twice(&mut dec.line.seen[S_OUTCOME])?;
            let value = map.next_value::<Option<Str>>()?;
            dec.line.failure = value.is_some_and(|v| v.0 == "failure");
        }
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Mlmon, |dec, key, map| {
    // Another model's line, named before its values (as the handler writes it): its
    // values are passed over, not decoded. Its keys are still checked, so a key given
    // twice (another name later, say) still sends the line to the exact path.
    let skipping = dec.line.seen[S_NAME] && !dec.line.this_model;
    match key {
        "model" => {
            twice(&mut dec.line.seen[S_MODEL])?;
            map.next_value_seed(Model(dec, ()))?;
        }
        "latency_ms" | "inputs" | "outputs" | "token_count" | "tokens" | "present" | "null"
            if skipping =>
        {
            let slot = match key {
                "latency_ms" => S_LATENCY,
                "inputs" => S_INPUTS,
                "outputs" => S_OUTPUTS,
                "token_count" => S_COUNTS,
                "tokens" => S_TOKENS,
                "present" => S_LISTS,
                _ => S_LISTS + 1,
            };
            twice(&mut dec.line.seen[slot])?;
            map.next_value::<IgnoredAny>()?;
        }
        "latency_ms" => {
            twice(&mut dec.line.seen[S_LATENCY])?;
            dec.line.latency = number(&mut map)?;
        }
        "inputs" => {
            twice(&mut dec.line.seen[S_INPUTS])?;
            map.next_value_seed(Group(dec, 0))?;
        }
        "outputs" => {
            twice(&mut dec.line.seen[S_OUTPUTS])?;
            map.next_value_seed(Group(dec, 1))?;
        }
        "token_count" => {
            twice(&mut dec.line.seen[S_COUNTS])?;
            map.next_value_seed(TokenCounts(dec, ()))?;
        }
        "tokens" => {
            twice(&mut dec.line.seen[S_TOKENS])?;
            map.next_value_seed(Tokens(dec, ()))?;
        }
        "present" | "null" => {
            let k = usize::from(key == "null");
            twice(&mut dec.line.seen[S_LISTS + k])?;
            let raw = map.next_value::<&RawValue>()?.get();
            // Most lines repeat the last row's list: compared before it is hashed.
            let b = &mut dec.block;
            let last = b.lists[k].last().copied().unwrap_or(NONE);
            dec.line.lists[k] = match b.tables[LISTS].values.get(last as usize) {
                Some(value) if value == raw => last,
                _ => match b.tables[LISTS].codes.get(raw) {
                    Some(&code) => code,
                    None if names_list(raw) => b.tables[LISTS].code(raw),
                    None => return Err(de::Error::custom("a name list of other values")),
                },
            };
        }
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Model, |dec, key, map| {
    match key {
        "name" => {
            twice(&mut dec.line.seen[S_NAME])?;
            let value = map.next_value::<Option<Str>>()?;
            dec.line.this_model = value.is_some_and(|v| v.0 == dec.schema.model);
        }
        "version" => {
            twice(&mut dec.line.seen[S_VERSION])?;
            dec.line.version = match map.next_value::<Option<Str>>()? {
                Some(v) => dec.block.tables[VERSIONS].code(&v.0),
                None => NONE,
            };
        }
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Group, usize, |dec, g, key, map| {
    match key {
        "num" => {
            twice(&mut dec.line.seen[S_GROUPS + 2 * g])?;
            map.next_value_seed(Numbers(dec, g))?;
        }
        "cat" => {
            twice(&mut dec.line.seen[S_GROUPS + 2 * g + 1])?;
            map.next_value_seed(Keywords(dec, g))?;
        }
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Numbers, usize, |dec, g, key, map| {
    match dec.schema.groups[g].index.find(key, &mut dec.line.next[g]) {
        Some(i) => {
            let slot = dec.name_slot(g, i, false);
            twice(&mut dec.line.seen[slot])?;
            dec.line.numbers[g][i] = number(&mut map)?;
        }
        None => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Keywords, usize, |dec, g, key, map| {
    let names = &dec.schema.groups[g];
    match names.keywords.find(key, &mut dec.line.next[2 + g]) {
        Some(k) => {
            let Some(i) = names.index.get(key) else {
                return Err(de::Error::custom("a keyword column that is no feature"));
            };
            let slot = dec.name_slot(g, i, true);
            twice(&mut dec.line.seen[slot])?;
            dec.line.keywords[g][k] = match map.next_value::<Option<Str>>()? {
                Some(v) => dec.block.tables[KEYWORDS].code(&v.0),
                None => NONE,
            };
        }
        // A keyword under a feature not counted as one (a type mismatch): Python's exact path.
        None if names.index.get(key).is_some() => map.next_value::<()>()?,
        None => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(TokenCounts, |dec, key, map| {
    match dec.schema.inputs().index.get(key) {
        Some(i) => {
            twice(&mut dec.line.seen_counts[i])?;
            let x = number(&mut map)?;
            if !x.is_nan() {
                let row = dec.row();
                let b = &mut dec.block;
                b.count_rows.push(row);
                b.count_inputs.push(i as u32);
                b.count_values.push(x);
            }
        }
        None => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

object!(Tokens, |dec, key, map| {
    match dec.schema.inputs().index.get(key) {
        Some(i) => {
            twice(&mut dec.line.seen_tokens[i])?;
            map.next_value_seed(TokenList(dec, i as u32))?;
        }
        None => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

/// One text input's token list: each distinct token once (a keyword array indexes so).
struct TokenList<'d, 's>(&'d mut Decoder<'s>, u32);

impl<'de> DeserializeSeed<'de> for TokenList<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TokenList<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of strings or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (dec, input) = (self.0, self.1);
        dec.list.clear();
        while let Some(token) = seq.next_element::<Str<'de>>()? {
            let code = dec.block.tables[TOKENS].code(&token.0);
            dec.list.push(code);
        }
        dec.list.sort_unstable();
        dec.list.dedup();
        let row = dec.row();
        let b = &mut dec.block;
        for &code in &dec.list {
            b.token_rows.push(row);
            b.token_inputs.push(input);
            b.token_codes.push(code);
        }
        Ok(())
    }
}

/// Whether a `present` or `null` list holds what the handler writes there: names (or null).
/// Anything else (numbers, objects) is left to Python's exact path.
fn names_list(raw: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Null | serde_json::Value::String(_)) => true,
        Ok(serde_json::Value::Array(items)) => items.iter().all(serde_json::Value::is_string),
        _ => false,
    }
}

/// Nanoseconds since the epoch of a time written as the handler writes it
/// (`2024-05-01T12:00:00.000Z`); `None` for anything else, left to Python's parser.
fn stamp_ns(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second, milli) = (
        digits(11, 13)?,
        digits(14, 16)?,
        digits(17, 19)?,
        digits(20, 23)?,
    );
    // Within the nanosecond range of int64 (1677-2262), and a real date and time.
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1700..=2200).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > month_days[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some((seconds * 1_000 + milli) * 1_000_000)
}

#[pymodule]
fn mlmon_elk_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Schema>()?;
    m.add_class::<Block>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::stamp_ns;

    #[test]
    fn stamps_are_nanoseconds_since_the_epoch() {
        assert_eq!(stamp_ns("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            stamp_ns("2024-05-01T12:00:00.250Z"),
            Some(1_714_564_800_250_000_000)
        );
        assert_eq!(
            stamp_ns("2024-02-29T00:00:00.000Z"),
            Some(1_709_164_800_000_000_000)
        );
    }

    #[test]
    fn other_forms_are_left_to_python() {
        for text in [
            "2023-02-29T00:00:00.000Z",
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.000+00:00",
            "2024-05-01 12:00:00.000Z",
            "2024-13-01T12:00:00.000Z",
            "2024-05-01T24:00:00.000Z",
            "2024-05-01T12:00:60.000Z",
        ] {
            assert_eq!(stamp_ns(text), None, "{text}");
        }
    }
}
