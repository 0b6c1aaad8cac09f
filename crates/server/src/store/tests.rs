//! The store against a real SQLite file: password hashing off the async thread, accounts that stay disabled.
#![allow(clippy::unwrap_used)]

use super::*;

/// CPU time the calling thread has used (the scheduler's count, in nanoseconds).
#[cfg(target_os = "linux")]
fn thread_cpu() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    let ns = stat.split_whitespace().next().unwrap().parse().unwrap();
    std::time::Duration::from_nanos(ns)
}

// Finding 5: argon2 runs on blocking threads, not on the thread that drives the sockets.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn password_hashing_stays_off_the_async_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let user = UserKey::new(Label::new("dev").unwrap(), "bob".try_into().unwrap());
    store
        .put_account(
            &AccountRow::new(user.clone(), Role::User),
            Some("correct horse"),
            0,
        )
        .await
        .unwrap();
    // What one hash costs when computed right here.
    let before = thread_cpu();
    hash_password("another password").unwrap();
    let inline = thread_cpu() - before;
    // Four checks through the store: the runtime's only thread hardly works.
    let before = thread_cpu();
    for password in ["wrong", "correct horse", "wrong again", "nope"] {
        let ok = store.check_password(&user, password).await.unwrap();
        assert_eq!(ok.is_some(), password == "correct horse");
    }
    let here = thread_cpu() - before;
    assert!(
        here < inline,
        "4 password checks cost this thread {here:?}, one inline hash {inline:?}"
    );
}

// Finding 15: changing an account never re-enables it.
#[tokio::test]
async fn changing_a_disabled_account_keeps_it_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let user = UserKey::new(Label::new("dev").unwrap(), "a9".try_into().unwrap());
    let mut row = AccountRow::new(user.clone(), Role::Agent);
    store
        .put_account(&row, Some("first password"), 0)
        .await
        .unwrap();
    assert!(store.set_disabled(&user, true, 1_000).await.unwrap());
    row.skills = vec![Skill {
        business: Business::new("sales").unwrap(),
        level: 4,
    }];
    store
        .put_account(&row, Some("second password"), 0)
        .await
        .unwrap();
    let stored = store.account(&user).await.unwrap().unwrap();
    assert!(stored.disabled);
    assert_eq!(stored.skills, row.skills);
    assert!(store.accounts().await.unwrap().is_empty());
    assert_eq!(
        stored.tokens_after, 1_000,
        "its tokens are refused for good"
    );
    assert!(
        store
            .check_password(&user, "second password")
            .await
            .unwrap()
            .is_none()
    );
}
