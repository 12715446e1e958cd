//! Which DMV provider this process uses (`dmv_provider`): the built-in
//! AAMVA structured-test sandbox, the AAMVA DLDV adapter, or none.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::engine::DmvProvider;
use crate::engine::dmv::aamva::{AamvaClient, AamvaSettings};
use crate::engine::dmv::sandbox::SandboxDmv;

/// The provider named by the config. Unset means `sandbox` outside
/// production and `none` in production (a sandbox answer must never
/// verify a real applicant).
pub fn provider_from_config(config: &Config) -> anyhow::Result<Option<Arc<dyn DmvProvider>>> {
    let name = config.dmv_provider.clone().unwrap_or_else(|| if config.is_production() { "none" } else { "sandbox" }.into());
    Ok(match name.as_str() {
        "none" => None,
        "sandbox" => Some(Arc::new(SandboxDmv)),
        "aamva" => {
            let endpoint = config.aamva_endpoint.clone().ok_or_else(|| anyhow::anyhow!("dmv_provider = aamva needs aamva_endpoint"))?;
            let settings = AamvaSettings {
                endpoint,
                username: config.aamva_username.clone(),
                password: config.aamva_password.clone(),
                token: config.aamva_token.clone(),
                timeout: Duration::from_secs(config.aamva_timeout_secs.max(1)),
            };
            Some(Arc::new(AamvaClient::new(settings).map_err(|e| anyhow::anyhow!("{e}"))?))
        }
        other => anyhow::bail!("dmv_provider: expected sandbox, aamva or none, got `{other}`"),
    })
}
