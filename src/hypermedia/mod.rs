//! The hypermedia core. Every response is built from a [`resource::Resource`]: its `uri`,
//! properties, relations (which become `subresource_uris` *and* the `Link` header), extra links
//! (paging, `up`, description documents) and actions (HAL-FORMS templates and HTML forms).
//! [`uris`] is the only place that knows what a URI looks like; [`model`] is the only place that
//! decides which relations and actions a resource has in its current state.
pub mod link_header;
pub mod model;
pub mod relations;
pub mod resource;
pub mod uris;
