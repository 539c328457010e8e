//! storywatch: watches news feeds for North Korea–Russia coverage, keeps every article and
//! every revision of it in SQLite, and raises an alert when a relevant story appears or a
//! published one is silently edited.
//!
//! The modules follow the data flow of `DESIGN.md`: [`config`] → [`fetch`] → [`feed`] (parse
//! and normalize) → [`topic`] → [`store`] → [`diff`] → [`alert`], driven by [`daemon`] and
//! the [`cli`]. [`extract`] takes an article page's HTML to its title and text, beside
//! [`feed`]. [`seed`] reads the articles the database starts from; [`opml`] moves feed
//! lists in and out of the config; [`demo`] runs the whole cycle on bundled sample feeds;
//! [`report`] renders an article's revisions as a page for people.

pub mod alert;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod diff;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod model;
pub mod opml;
pub mod report;
pub mod seed;
pub mod store;
pub mod topic;
