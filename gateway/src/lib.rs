pub mod auth;
pub mod credentials;
pub mod secrets;
