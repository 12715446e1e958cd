//! Authentication: integrator API keys, the SDK client check, admin login
//! sessions and their database-backed store.

pub mod api_key;
pub mod login;
pub mod sdk;
pub mod store;

pub use api_key::ApiCaller;
pub use login::AdminUser;
pub use sdk::SdkClient;
