//! The paper authors' label format (ml-jku/hti-cnn): `label-matrix.mtx` (MatrixMarket coordinate
//! integer, compounds x tasks, +1/-1, missing not stored, entries column by column),
//! `row-compound-index.csv` (`INDEX,INCHIKEY`, 0-based) and `column-assay-index.csv`
//! (`ASSAY_ID`, ChEMBL's integer assay id; an assay appears once per threshold task).

use std::io::Write;
use std::path::Path;

use crate::atomic_file::AtomicFile;
use crate::export::label_tables::{LabelTable, TaskRow};

/// File names, relative to the export's `authors/` directory.
pub const MATRIX: &str = "label-matrix.mtx";
/// Row index file.
pub const ROWS: &str = "row-compound-index.csv";
/// Column index file.
pub const COLUMNS: &str = "column-assay-index.csv";

/// Writes the three files into `dir` (which must exist). Rows are the compounds that have a
/// label, in InChIKey order; columns are the tasks in `tasks` order.
pub fn write(dir: &Path, tasks: &[TaskRow], labels: &LabelTable) -> std::io::Result<()> {
    // Row of each labelled compound (ids order like keys), column of each task id.
    let mut row_of: Vec<Option<usize>> = vec![None; labels.inchikeys.len()];
    let mut compounds: Vec<&str> = Vec::new();
    for e in &labels.rows {
        if let Some(slot) = row_of.get_mut(e.compound as usize)
            && slot.is_none()
        {
            *slot = Some(compounds.len());
            compounds.push(labels.inchikey(e));
        }
    }
    let mut by_id: Vec<(&str, usize)> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    by_id.sort_unstable();
    let col_of: Vec<Option<usize>> = labels
        .task_ids
        .iter()
        .map(|id| {
            by_id
                .binary_search_by(|(t, _)| (*t).cmp(id.as_str()))
                .ok()
                .map(|i| by_id[i].1)
        })
        .collect();
    // Column-major order without a sort (a counting sort by column): count each column's
    // entries, then place them, walking the rows (in compound order, and row numbers grow with
    // compounds) so each column's entries come out in row order.
    let cell = |e: &crate::export::label_tables::LabelEntry| -> Option<(u32, u32)> {
        match (
            col_of.get(e.task as usize).copied(),
            row_of.get(e.compound as usize).copied(),
        ) {
            (Some(Some(col)), Some(Some(row))) => Some((col as u32, row as u32)),
            _ => None,
        }
    };
    let mut start: Vec<usize> = vec![0; tasks.len() + 1];
    for (col, _) in labels.rows.iter().filter_map(cell) {
        start[col as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let total = start[tasks.len()];
    // (row, value) per entry; the column is known from `start`.
    let mut entries: Vec<(u32, i8)> = vec![(0, 0); total];
    for e in &labels.rows {
        if let Some((col, row)) = cell(e) {
            entries[start[col as usize]] = (row, e.label);
            start[col as usize] += 1;
        }
    }
    // `start[c]` is now where column c ends.

    let mut m = AtomicFile::create(dir.join(MATRIX))?;
    writeln!(m, "%%MatrixMarket matrix coordinate integer general")?;
    writeln!(m, "%")?;
    writeln!(m, "{} {} {}", compounds.len(), tasks.len(), entries.len())?;
    let (mut line, mut num) = (Vec::with_capacity(1 << 16), itoa::Buffer::new());
    let mut from = 0;
    for (col, &end) in start.iter().take(tasks.len()).enumerate() {
        let mut col_text = itoa::Buffer::new();
        let col_text = col_text.format(col + 1).as_bytes();
        for (row, v) in &entries[from..end] {
            line.extend_from_slice(num.format(row + 1).as_bytes());
            line.push(b' ');
            line.extend_from_slice(col_text);
            line.push(b' ');
            line.extend_from_slice(num.format(*v).as_bytes());
            line.push(b'\n');
            if line.len() > (1 << 16) - 64 {
                m.write_all(&line)?;
                line.clear();
            }
        }
        from = end;
    }
    m.write_all(&line)?;
    m.commit()?;

    let mut r = AtomicFile::create(dir.join(ROWS))?;
    writeln!(r, "INDEX,INCHIKEY")?;
    for (i, k) in compounds.iter().enumerate() {
        writeln!(r, "{i},{k}")?;
    }
    r.commit()?;

    let mut c = AtomicFile::create(dir.join(COLUMNS))?;
    writeln!(c, "ASSAY_ID")?;
    for t in tasks {
        writeln!(c, "{}", t.assay_id)?;
    }
    c.commit()
}
