//! storywatch: watches news feeds for North Korea–Russia coverage, keeps every article and
//! every revision of it in SQLite, and raises an alert when a relevant story appears or a
//! published one is silently edited.
//!
//! The modules follow the data flow of `DESIGN.md`: [`config`] → [`fetch`] → [`feed`] (parse
//! and normalize) → [`topic`] → [`store`] → [`diff`] → [`alert`], driven by [`daemon`] and
//! the [`cli`].

pub mod model;
