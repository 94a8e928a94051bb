//! Cell Painting compound metadata as distributed: the Bray/CDRP and JUMP layouts.
