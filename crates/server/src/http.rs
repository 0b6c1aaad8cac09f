//! HTTP endpoints beside the socket: health, Prometheus metrics (this machine only, or with the
//! metrics token), sign-in for users and agents (throttled per account and per address), customer
//! tokens for the widget (per address, for the realm's queues only), and a small admin API for
//! enabled admin accounts.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use switchboard_protocol::{Business, Label, Role, Skill, UserId, limits};

use crate::App;
use crate::core::UserKey;
use crate::hub::now_ms;
use crate::store::{AccountRow, role_str};
use crate::token::Claims;

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ws", routing::get(crate::ws::upgrade))
        .route("/healthz", routing::get(|| async { "ok\n" }))
        .route("/metrics", routing::get(metrics))
        .route("/hold-music/{realm}", routing::get(hold_music))
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
        .route("/admin/wallboard", routing::get(admin_wallboard))
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

fn too_many(what: &str) -> ApiError {
    ApiError(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many {what}; try again in a minute"),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// `GET /hold-music/REALM`: the realm's music on hold (public: it is what callers hear).
async fn hold_music(State(app): State<Arc<App>>, Path(realm): Path<String>) -> Response {
    let Some(path) = app
        .config
        .realms
        .get(&realm)
        .and_then(|r| r.hold_music.clone())
    else {
        return (StatusCode::NOT_FOUND, "no music on hold of its own\n").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response(),
        Err(e) => {
            tracing::error!(path = %path.display(), "music on hold: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the music cannot be read\n",
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: with `metrics_token` set, for whoever presents it; otherwise for this
/// machine only (the figures tell an outsider how busy the floor is).
async fn metrics(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult {
    match &app.config.metrics_token {
        Some(token) => {
            let given = bearer(&headers).unwrap_or_default();
            if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
                return Err(ApiError(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Authorization: Bearer <metrics_token> required".into(),
                ));
            }
        }
        // Through a proxy every request comes from this machine: a forwarded one is not ours.
        None if !peer.ip().to_canonical().is_loopback()
            || headers.contains_key("x-forwarded-for")
            || headers.contains_key(header::FORWARDED) =>
        {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                "forbidden",
                "metrics are served to this machine only; set metrics_token to read them from elsewhere"
                    .into(),
            ));
        }
        None => {}
    }
    let body = app
        .metrics
        .render(&app.hub.figures(), &app.hub.wallboards(), &app.throttle);
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
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

/// `POST /auth/login`: user id + password → a token for a shift. Attempts are limited per
/// address (whoever guesses) and per account (whichever address guesses it).
async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> ApiResult {
    let caller = app.throttle.client(peer, &headers);
    if app.throttle.logins_by_address.check_key(&caller).is_err() {
        return Err(too_many("sign-in attempts from this address"));
    }
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
    if app
        .throttle
        .logins_by_account
        .check_key(&key.to_string())
        .is_err()
    {
        return Err(too_many("sign-in attempts for this account"));
    }
    let account = app
        .store
        .check_password(&key, &body.password)
        .await
        .map_err(internal)?;
    let Some(account) = account else {
        return Err(denied());
    };
    let now = now_ms() / 1000;
    let claims = Claims {
        sub: key.user,
        realm: key.realm,
        role: account.role,
        exp: now + app.config.token_ttl_secs.min(app.config.max_session_secs),
        auth: now,
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
/// may proxy this: name it in `trusted_proxies`). Rate-limited per client address; only for a
/// queue the realm offers, with one answer for every other realm and business, so that nobody
/// learns from it which exist.
async fn customer(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<CustomerBody>,
) -> ApiResult {
    let caller = app.throttle.client(peer, &headers);
    if app.throttle.customer_tokens.check_key(&caller).is_err() {
        return Err(too_many("customer tokens from this address"));
    }
    let realm = realm_or_default(&app, body.realm)?;
    let business = Business::new(body.business).map_err(|e| bad_request(e.to_string()))?;
    if !app.hub.offers_business(&realm, &business) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown_business",
            "no such queue here".into(),
        ));
    }
    let id = format!("cust-{:016x}", rand::random::<u64>());
    let now = now_ms() / 1000;
    let claims = Claims {
        sub: UserId::new(id).map_err(internal)?,
        realm,
        role: Role::Customer,
        exp: now
            + app
                .config
                .customer_token_ttl_secs
                .min(app.config.customer_max_session_secs),
        auth: now,
        biz: Some(business.clone()),
    };
    let mut response = issue(&app, &claims);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// The admin token's realm, or 401/403. The token's role is not enough: the account behind it
/// must still be an enabled admin now (a disabled or demoted admin's token is worthless).
fn admin(app: &App, headers: &HeaderMap) -> Result<Label, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
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
    let forbidden = || {
        ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an admin token is required".into(),
        )
    };
    if claims.role != Role::Admin {
        return Err(forbidden());
    }
    let who = UserKey::new(claims.realm.clone(), claims.sub.clone());
    match app.hub.account(&who) {
        Some(a) if !a.honours(claims.auth) => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "this token's sign-in was revoked (password, role or account changed); sign in again"
                .into(),
        )),
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the account behind this token is disabled or gone".into(),
        )),
        Some(a) if a.role != Role::Admin => Err(forbidden()),
        Some(_) => Ok(claims.realm),
    }
}

fn check_password(app: &App, password: &str) -> Result<(), ApiError> {
    let min = app.config.min_password_chars;
    if password.chars().count() < min {
        return Err(bad_request(format!(
            "a password has at least {min} characters"
        )));
    }
    Ok(())
}

/// `GET /admin/wallboard`: the admin's realm's wallboard, the figures supervisors see pushed
/// (`?team=NAME`: one team's).
async fn admin_wallboard(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let realm = admin(&app, &headers)?;
    let team = match q.get("team") {
        Some(t) => Some(Label::new(t.clone()).map_err(|e| bad_request(format!("team: {e}")))?),
        None => None,
    };
    let board = app.hub.wallboard(&realm, team);
    Ok(Json(board).into_response())
}

#[derive(Deserialize)]
struct PutUser {
    user: String,
    role: Role,
    password: Option<String>,
    display_name: Option<String>,
    skills: Option<Vec<Skill>>,
    queue_priority: Option<u8>,
    /// The team; `""` takes the account out of its team.
    team: Option<String>,
}

/// `POST /admin/users`: create a user, agent or admin, or change one (fields left out keep
/// their value; a disabled account stays disabled).
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
    if let Some(p) = &body.password {
        check_password(&app, p)?;
    }
    let user = UserKey::new(
        realm,
        UserId::new(body.user).map_err(|e| bad_request(e.to_string()))?,
    );
    let _writing = app.admin_writes.lock().await;
    let mut row = app
        .store
        .account(&user)
        .await
        .map_err(internal)?
        .unwrap_or_else(|| AccountRow::new(user.clone(), body.role));
    let now = now_ms();
    // A new role or password: what was signed in before speaks for the account no more.
    if row.role != body.role || body.password.is_some() {
        row.tokens_after = row.tokens_after.max(now / 1000);
    }
    row.role = body.role;
    if let Some(name) = body.display_name {
        row.display_name = Some(Label::new(name).map_err(|e| bad_request(e.to_string()))?);
    }
    if let Some(skills) = body.skills {
        check_skills(&skills)?;
        row.skills = skills;
    }
    if let Some(p) = body.queue_priority {
        if p > limits::MAX_LEVEL {
            return Err(bad_request(format!(
                "queue_priority {p} is above the maximum {}",
                limits::MAX_LEVEL
            )));
        }
        row.queue_priority = p;
    }
    if let Some(team) = body.team {
        row.team = match team.as_str() {
            "" => None,
            t => Some(Label::new(t).map_err(|e| bad_request(format!("team: {e}")))?),
        };
    }
    app.store
        .put_account(&row, body.password.as_deref(), now)
        .await
        .map_err(internal)?;
    publish(&app, &row.user).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "user": row.user.user,
            "role": role_str(row.role),
            "disabled": row.disabled,
            "skills": row.skills,
            "queue_priority": row.queue_priority,
            "team": row.team,
        })),
    )
        .into_response())
}

fn check_skills(skills: &[Skill]) -> Result<(), ApiError> {
    if skills.len() > limits::MAX_SKILLS {
        return Err(bad_request(format!(
            "{} skills, the limit is {}",
            skills.len(),
            limits::MAX_SKILLS
        )));
    }
    for (i, s) in skills.iter().enumerate() {
        if !(1..=limits::MAX_LEVEL).contains(&s.level) {
            return Err(bad_request(format!(
                "skill {} has level {}, expected 1..={}",
                s.business,
                s.level,
                limits::MAX_LEVEL
            )));
        }
        if skills[..i].iter().any(|o| o.business == s.business) {
            return Err(bad_request(format!("skill {} is named twice", s.business)));
        }
    }
    Ok(())
}

/// Hands the live directory the account as the database has it now (none when disabled).
/// Callers hold `admin_writes`, so that two changes cannot cross between database and directory.
async fn publish(app: &App, user: &UserKey) -> Result<(), ApiError> {
    let account = app.store.account(user).await.map_err(internal)?;
    app.hub.set_account(
        user.clone(),
        account.filter(|a| !a.disabled).map(|a| a.live()),
    );
    Ok(())
}

fn no_user(user: &UserKey) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "unknown_user",
        format!("no user {}", user.user),
    )
}

async fn set_disabled(app: &App, headers: &HeaderMap, user: String, disabled: bool) -> ApiResult {
    let realm = admin(app, headers)?;
    let user = UserKey::new(
        realm,
        UserId::new(user).map_err(|e| bad_request(e.to_string()))?,
    );
    let _writing = app.admin_writes.lock().await;
    if !app
        .store
        .set_disabled(&user, disabled, now_ms() / 1000)
        .await
        .map_err(internal)?
    {
        return Err(no_user(&user));
    }
    publish(app, &user).await?;
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

/// `POST /admin/users/{user}/password`: also signs the account out everywhere (a password is
/// changed when it leaked: the tokens it gave must go with it).
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
    check_password(&app, &body.password)?;
    let _writing = app.admin_writes.lock().await;
    if !app
        .store
        .set_password(&user, &body.password, now_ms() / 1000)
        .await
        .map_err(internal)?
    {
        return Err(no_user(&user));
    }
    publish(&app, &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct TokenBody {
    user: String,
    ttl_secs: Option<u64>,
}

/// `POST /admin/tokens`: mint a token for an existing account, for at most
/// `max_token_ttl_secs`.
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
    let ttl = body.ttl_secs.unwrap_or(app.config.token_ttl_secs);
    if ttl == 0 || ttl > app.config.max_token_ttl_secs {
        return Err(bad_request(format!(
            "ttl_secs must be 1..={} (max_token_ttl_secs)",
            app.config.max_token_ttl_secs
        )));
    }
    let now = now_ms() / 1000;
    let claims = Claims {
        sub: user.user,
        realm: user.realm,
        role: account.role,
        exp: now + ttl,
        auth: now,
        biz: None,
    };
    Ok(issue(&app, &claims))
}
