//! Reading the audit trail (`/admin/v1/audit`, the console): newest first, with filters and a
//! cursor. An account's admins see only their own account's records; staff with `audit:read`
//! see all.

use super::AdminError;
use super::principal::Principal;
use super::services::AuditAdmin;
use crate::model::audit::StoredAudit;
use crate::store::AuditFilter;

impl AuditAdmin<'_> {
    /// One page of records the principal may read, and the cursor of the next page.
    pub async fn search(
        &self,
        who: &Principal,
        mut filter: AuditFilter,
        limit: Option<i64>,
    ) -> Result<(Vec<StoredAudit>, Option<i64>), AdminError> {
        if let Some(own) = who.account {
            if filter.account.is_some_and(|a| a != own) {
                return Err(AdminError::Forbidden("the account belongs to another customer".into()));
            }
            filter.account = Some(own);
        }
        who.check("audit:read", filter.account.or(who.account))
            .map_err(|d| AdminError::Forbidden(d.0))?;
        let limit = limit.unwrap_or(50).clamp(1, 200);
        let rows = self.db.audit_search(&filter, limit).await?;
        let next = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok((rows, next))
    }
}
