//! Writing Cell Painting compound metadata (CDRP and JUMP layouts) for generated worlds.
