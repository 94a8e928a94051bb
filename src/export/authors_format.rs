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
    let mut entries: Vec<(usize, usize, i8)> = labels
        .rows
        .iter()
        .filter_map(|e| {
            Some((
                (*col_of.get(e.task as usize)?)?,
                (*row_of.get(e.compound as usize)?)?,
                e.label,
            ))
        })
        .collect();
    entries.sort_unstable();

    let mut m = AtomicFile::create(dir.join(MATRIX))?;
    writeln!(m, "%%MatrixMarket matrix coordinate integer general")?;
    writeln!(m, "%")?;
    writeln!(m, "{} {} {}", compounds.len(), tasks.len(), entries.len())?;
    for (col, row, v) in &entries {
        writeln!(m, "{} {} {}", row + 1, col + 1, v)?;
    }
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
