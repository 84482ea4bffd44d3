//! The contract suite: every scenario over every transport
