//! Keyset pages: the store is asked for one row more than a page holds; when it comes, the page
//! is cut there and the position of the last row kept becomes the cursor. Positions are store
//! types that print themselves as cursors (`Display`) and read them back (`FromStr`), so the
//! format is written and read in one place.

use std::fmt::Display;
use std::str::FromStr;

use crate::domain::ValidationError;

/// How many rows to fetch for a page of `limit`: one more, to know whether another page follows.
pub(crate) fn fetch_limit(limit: i64) -> i64 {
    limit + 1
}

/// A page of rows and the cursor of the next one (`None` at the end).
pub(crate) struct Page<T> {
    pub(crate) rows: Vec<T>,
    pub(crate) next_cursor: Option<String>,
}

/// Cuts `rows`, fetched with [`fetch_limit`], to a page of `limit` rows.
pub(crate) fn cut<T, P: Display>(
    mut rows: Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> P,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| position(row).to_string())
    } else {
        None
    };
    Page { rows, next_cursor }
}

/// The position a caller's `cursor` names.
pub(crate) fn position<P: FromStr>(cursor: Option<&str>) -> Result<Option<P>, ValidationError> {
    cursor
        .map(|raw| raw.parse().map_err(|_| invalid_cursor()))
        .transpose()
}

/// The refusal of a cursor this server did not issue (or issued for other filters).
pub(crate) fn invalid_cursor() -> ValidationError {
    ValidationError::new(
        "cursor",
        "is not a cursor this server issued for these filters; pass `next_cursor` from the previous page unchanged, with the same filters, or omit it to start at the beginning",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_cut_at_its_limit_and_its_last_row_is_the_cursor() {
        let page = cut(vec![5, 4, 3], 2, |n| format!("n{n}"));
        assert_eq!(
            (page.rows, page.next_cursor),
            (vec![5, 4], Some("n4".to_owned()))
        );
        let last = cut(vec![2, 1], 2, |n| format!("n{n}"));
        assert_eq!((last.rows, last.next_cursor), (vec![2, 1], None));
    }
}
