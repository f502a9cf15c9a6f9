//! Pagination and ordering parameters shared by every list endpoint.

use serde::{Deserialize, Serialize};

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// Query parameters of list endpoints. `after`/`before` are cursors: ids of items in the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
}

impl ListParams {
    /// A list of at most `limit` items, newest first.
    pub fn latest(limit: u32) -> Self {
        Self {
            limit: Some(limit),
            ..Self::default()
        }
    }
}
