//! Admin sessions: argon2id password hashes and short-lived HS256 JWTs (key derived from the
//! master key, so every instance sharing the master key accepts the same sessions).

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpRequest};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use diesel::prelude::*;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::crypto::Vault;
use crate::db::schema::admins;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::state::AppState;

const ISSUER: &str = "kameng-admin";

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates an admin; fails with 409 if the username exists.
pub fn create_admin(conn: &mut DbConn, username: &str, password: &str) -> Result<String> {
    if username.trim().is_empty() || password.len() < 8 {
        return Err(Error::invalid(
            "password",
            "username required and password of at least 8 characters",
        ));
    }
    let exists: i64 = admins::table
        .filter(admins::username.eq(username))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Err(Error::Conflict(format!("admin {username} already exists")));
    }
    let id = crate::ids::new_id("adm");
    diesel::insert_into(admins::table)
        .values((
            admins::id.eq(&id),
            admins::username.eq(username),
            admins::password_hash.eq(hash_password(password)?),
            admins::created_at.eq(crate::time::now_ms()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn admin_count(conn: &mut DbConn) -> Result<i64> {
    Ok(admins::table.count().get_result(conn)?)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    name: String,
    iss: String,
    iat: i64,
    exp: i64,
}

/// Checks a username and password; returns `(admin_id, username)`.
pub fn authenticate(conn: &mut DbConn, username: &str, password: &str) -> Result<(String, String)> {
    let row: Option<(String, String)> = admins::table
        .filter(admins::username.eq(username))
        .select((admins::id, admins::password_hash))
        .first(conn)
        .optional()?;
    match row {
        Some((id, hash)) if verify_password(&hash, password) => Ok((id, username.to_string())),
        Some(_) => Err(Error::Unauthorized("wrong username or password".into())),
        None => {
            // Spend the same time as a real check so timing does not reveal usernames.
            let _ = verify_password(DUMMY_HASH, password);
            Err(Error::Unauthorized("wrong username or password".into()))
        }
    }
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qc2JDZKvbbNSDQ3DYHjGzY5w4p2yx6I6yZbBfWgJYqE";

pub fn issue_token(
    vault: &Vault,
    admin_id: &str,
    username: &str,
    ttl_secs: i64,
) -> Result<(String, i64)> {
    let now = crate::time::now_secs();
    let claims = Claims {
        sub: admin_id.into(),
        name: username.into(),
        iss: ISSUER.into(),
        iat: now,
        exp: now + ttl_secs,
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(vault.admin_jwt_key()),
    )
    .map_err(|e| Error::internal(format!("jwt: {e}")))?;
    Ok((token, now + ttl_secs))
}

/// An authenticated admin (from `Authorization: Bearer <jwt>`).
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub admin_id: String,
    pub username: String,
}

impl AdminSession {
    /// The audit actor string for this admin.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.username)
    }
}

fn session(req: &HttpRequest) -> Result<AdminSession> {
    let state = AppState::from_request(req)?;
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| Error::Unauthorized("missing bearer token".into()))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    let data = decode::<Claims>(
        token.trim(),
        &DecodingKey::from_secret(state.vault.admin_jwt_key()),
        &validation,
    )
    .map_err(|_| Error::Unauthorized("invalid or expired token".into()))?;
    Ok(AdminSession {
        admin_id: data.claims.sub,
        username: data.claims.name,
    })
}

impl FromRequest for AdminSession {
    type Error = Error;
    type Future = Ready<Result<AdminSession>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(session(req))
    }
}
