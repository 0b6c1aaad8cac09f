//! HTTP endpoints beside the socket: health, Prometheus metrics, sign-in for users and agents,
//! customer tokens for the widget (rate-limited per address), and a small admin API protected
//! by an admin token.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::json;
use switchboard_protocol::{Business, Label, Role, UserId};

use crate::App;
use crate::core::{Account, UserKey};
use crate::hub::now_ms;
use crate::store::{AccountRow, role_str};
use crate::token::Claims;

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ws", routing::get(crate::ws::upgrade))
        .route("/healthz", routing::get(|| async { "ok\n" }))
        .route("/metrics", routing::get(metrics))
        .route("/auth/login", routing::post(login))
        .route("/auth/customer", routing::post(customer))
        .route("/admin/users", routing::post(admin_put_user))
        .route("/admin/users/{user}/disable", routing::post(admin_disable))
        .route("/admin/users/{user}/enable", routing::post(admin_enable))
        .route(
            "/admin/users/{user}/password",
            routing::post(admin_password),
        )
        .route("/admin/tokens", routing::post(admin_token))
        .nest_service("/widget", widget(&app.config))
        .with_state(app)
}

/// The customer widget's files (`vite build` with base `/widget/`): any other path is the
/// page itself, except a missing file (an old build's script asked for by a cached page: HTML
/// in its place would fail as a script). Without a build, a clear 404.
fn widget(config: &crate::config::Config) -> axum::routing::MethodRouter {
    use tower_http::services::ServeDir;
    match config.widget_dir() {
        Some(dir) => {
            tracing::info!(dir = %dir.display(), "serving the customer widget at /widget/");
            let page_path = dir.join("widget.html");
            let page = routing::get(move |uri: axum::http::Uri| {
                let page_path = page_path.clone();
                async move {
                    let last = uri.path().rsplit('/').next().unwrap_or_default();
                    if last.contains('.') {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    match tokio::fs::read(&page_path).await {
                        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html)
                            .into_response(),
                        Err(e) => internal(e).into_response(),
                    }
                }
            });
            routing::get_service(
                ServeDir::new(&dir)
                    .append_index_html_on_directories(false)
                    .fallback(page),
            )
        }
        None => routing::get(|| async {
            (
                StatusCode::NOT_FOUND,
                "the customer widget is not built: run `npm run build` in ui/ \
                 (cargo xtask run does), or set widget_dir\n",
            )
        }),
    }
}

/// An error answer: `{"error": code, "message": text}`.
struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1, "message": self.2}))).into_response()
    }
}

fn bad_request(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "invalid_request", msg.into())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("{e}");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed; see its log".into(),
    )
}

type ApiResult = Result<Response, ApiError>;

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let body = app.metrics.render(&app.hub.figures());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn realm_or_default(app: &App, realm: Option<String>) -> Result<Label, ApiError> {
    Label::new(realm.unwrap_or_else(|| app.config.default_realm.clone()))
        .map_err(|e| bad_request(e.to_string()))
}

fn issue(app: &App, claims: &Claims) -> Response {
    Json(json!({
        "token": app.tokens.sign(claims),
        "expires_at": claims.exp * 1000,
        "user": claims.sub,
        "role": claims.role,
        "realm": claims.realm,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct LoginBody {
    user: String,
    password: String,
    realm: Option<String>,
}

/// `POST /auth/login`: user id + password → a token for a shift.
async fn login(State(app): State<Arc<App>>, Json(body): Json<LoginBody>) -> ApiResult {
    let realm = realm_or_default(&app, body.realm)?;
    let denied = || {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong user or password".into(),
        )
    };
    let Ok(user) = UserId::new(body.user) else {
        return Err(denied());
    };
    let key = UserKey::new(realm, user);
    let account = app
        .store
        .check_password(&key, &body.password)
        .await
        .map_err(internal)?;
    let Some(account) = account else {
        return Err(denied());
    };
    let claims = Claims {
        sub: key.user,
        realm: key.realm,
        role: account.role,
        exp: now_ms() / 1000 + app.config.token_ttl_secs,
        biz: None,
    };
    Ok(issue(&app, &claims))
}

#[derive(Deserialize)]
struct CustomerBody {
    business: String,
    realm: Option<String>,
}

/// `POST /auth/customer`: a short-lived token for one queue, for the widget (a company's site
/// may proxy this). Rate-limited per client address.
async fn customer(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<CustomerBody>,
) -> ApiResult {
    let ip: IpAddr = peer.ip();
    if app.customer_limiter.check_key(&ip).is_err() {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many customer tokens from this address; try again in a minute".into(),
        ));
    }
    let realm = realm_or_default(&app, body.realm)?;
    let business = Business::new(body.business).map_err(|e| bad_request(e.to_string()))?;
    let id = format!("cust-{:016x}", rand::random::<u64>());
    let claims = Claims {
        sub: UserId::new(id).map_err(internal)?,
        realm,
        role: Role::Customer,
        exp: now_ms() / 1000 + app.config.customer_token_ttl_secs,
        biz: Some(business.clone()),
    };
    let mut response = issue(&app, &claims);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// The admin token's realm, or 401/403.
fn admin(app: &App, headers: &HeaderMap) -> Result<Label, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Authorization: Bearer <admin token> required".into(),
            )
        })?;
    let claims = app
        .tokens
        .verify(token, now_ms() / 1000)
        .map_err(|e| ApiError(StatusCode::UNAUTHORIZED, "invalid_token", e.to_string()))?;
    if claims.role != Role::Admin {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an admin token is required".into(),
        ));
    }
    Ok(claims.realm)
}

#[derive(Deserialize)]
struct PutUser {
    user: String,
    role: Role,
    password: Option<String>,
    display_name: Option<String>,
}

/// `POST /admin/users`: create or change a user, agent or admin.
async fn admin_put_user(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(body): Json<PutUser>,
) -> ApiResult {
    let realm = admin(&app, &headers)?;
    if body.role == Role::Customer {
        return Err(bad_request(
            "customers have no accounts; use POST /auth/customer",
        ));
    }
    let user = UserId::new(body.user).map_err(|e| bad_request(e.to_string()))?;
    let display_name = body
        .display_name
        .map(Label::new)
        .transpose()
        .map_err(|e| bad_request(e.to_string()))?;
    let row = AccountRow {
        user: UserKey::new(realm, user),
        role: body.role,
        display_name: display_name.clone(),
        disabled: false,
    };
    app.store
        .put_account(&row, body.password.as_deref(), now_ms())
        .await
        .map_err(internal)?;
    app.hub.set_account(
        row.user.clone(),
        Some(Account {
            role: row.role,
            display_name,
        }),
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": row.user.user, "role": role_str(row.role)})),
    )
        .into_response())
}

async fn set_disabled(app: &App, headers: &HeaderMap, user: String, disabled: bool) -> ApiResult {
    let realm = admin(app, headers)?;
    let user = UserKey::new(
        realm,
        UserId::new(user).map_err(|e| bad_request(e.to_string()))?,
    );
    if !app
        .store
        .set_disabled(&user, disabled)
        .await
        .map_err(internal)?
    {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_user",
            format!("no user {}", user.user),
        ));
    }
    let account = app.store.account(&user).await.map_err(internal)?;
    app.hub.set_account(
        user,
        account.filter(|a| !a.disabled).map(|a| Account {
            role: a.role,
            display_name: a.display_name,
        }),
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /admin/users/{user}/disable`: signs the user out everywhere and refuses sign-in.
async fn admin_disable(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> ApiResult {
    set_disabled(&app, &headers, user, true).await
}

/// `POST /admin/users/{user}/enable`.
async fn admin_enable(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> ApiResult {
    set_disabled(&app, &headers, user, false).await
}

#[derive(Deserialize)]
struct PasswordBody {
    password: String,
}

/// `POST /admin/users/{user}/password`.
async fn admin_password(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Json(body): Json<PasswordBody>,
) -> ApiResult {
    let realm = admin(&app, &headers)?;
    let user = UserKey::new(
        realm,
        UserId::new(user).map_err(|e| bad_request(e.to_string()))?,
    );
    if body.password.len() < 4 {
        return Err(bad_request("a password has at least 4 characters"));
    }
    if !app
        .store
        .set_password(&user, &body.password)
        .await
        .map_err(internal)?
    {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_user",
            format!("no user {}", user.user),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct TokenBody {
    user: String,
    ttl_secs: Option<u64>,
}

/// `POST /admin/tokens`: mint a token for an existing account.
async fn admin_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(body): Json<TokenBody>,
) -> ApiResult {
    let realm = admin(&app, &headers)?;
    let user = UserKey::new(
        realm,
        UserId::new(body.user).map_err(|e| bad_request(e.to_string()))?,
    );
    let Some(account) = app
        .store
        .account(&user)
        .await
        .map_err(internal)?
        .filter(|a| !a.disabled)
    else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_user",
            format!("no enabled user {}", user.user),
        ));
    };
    let claims = Claims {
        sub: user.user,
        realm: user.realm,
        role: account.role,
        exp: now_ms() / 1000 + body.ttl_secs.unwrap_or(app.config.token_ttl_secs),
        biz: None,
    };
    Ok(issue(&app, &claims))
}
