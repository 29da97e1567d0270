//! The migration from format 1 (poto-sessions-admin migrate): in the next commit.
