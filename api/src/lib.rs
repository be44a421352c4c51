//! The REST API and the `ptl` command line.
