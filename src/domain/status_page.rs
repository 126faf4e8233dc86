//! The public status page: which services it shows (the operator's components) and how their
//! state and the page's headline follow from the public stakeholder updates.

/// One component of the status page: a service shown under a public name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The service, as incidents and updates name it.
    pub service: String,
    /// Its name on the page (e.g. `Checkout`).
    pub name: String,
    /// A line under the name.
    pub description: Option<String>,
}

/// The page as the operator configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageConfig {
    /// The page's title (e.g. `Example Inc. status`).
    pub title: String,
    /// The components, in the order shown.
    pub components: Vec<Component>,
    /// Where Firebreak is reached from outside (`https://status.example.com`), for absolute
    /// links in the feed; without it links are relative to the request's host.
    pub public_url: Option<String>,
}

impl Default for PageConfig {
    fn default() -> Self {
        PageConfig {
            title: "Status".to_owned(),
            components: Vec::new(),
            public_url: None,
        }
    }
}

impl PageConfig {
    /// The services a public update may name.
    pub fn public_services(&self) -> Vec<String> {
        self.components.iter().map(|c| c.service.clone()).collect()
    }
}
