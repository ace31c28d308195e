//! Nothing here: the tests are in `api/`.
