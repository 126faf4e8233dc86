//! GitHub's own example payloads (`@octokit/webhooks-examples`), signed by Octokit's `sign`
//! and delivered to Firebreak's `gh` source as GitHub delivers them.

mod octokit;

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use self::octokit::{Octokit, read, read_json};
use super::support::{expect_rows, expect_scalar, no_log, text};
use crate::support::signals::{Signals, secret};
use crate::support::{TestDb, call, ok};

/// What Firebreak answered a delivery it accepted: its one change, and whether that is new.
struct Accepted {
    /// `CHG-<n>`.
    change: String,
    /// Whether the delivery stored it (else it was stored before).
    new: bool,
    /// The whole answer, for failure messages.
    answer: Value,
}

/// Firebreak's `gh` source, delivered to as GitHub does, with Octokit's examples and
/// signatures.
struct GitHub<'a> {
    signals: &'a Signals,
    db: &'a TestDb,
    octokit: &'a Octokit,
}

impl GitHub<'_> {
    /// POSTs `body` as GitHub delivers `event` under `delivery`, signed with `signature`
    /// (`None`: unsigned).
    async fn post(
        &self,
        event: &str,
        delivery: &str,
        signature: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut headers = vec![("x-github-event", event), ("x-github-delivery", delivery)];
        headers.extend(signature.map(|signature| ("x-hub-signature-256", signature)));
        headers.push(("user-agent", "GitHub-Hookshot/044aadd"));
        self.signals.post("/hooks/github/gh", &headers, body).await
    }

    /// Asserts that `body`, delivered as `event` signed with `signature`, is refused (401);
    /// `what` says what is wrong with it.
    async fn refused(&self, what: &str, event: &str, signature: Option<&str>, body: Vec<u8>) {
        let (status, answer) = self.post(event, &delivery_id(), signature, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
    }

    /// Signs `file` with the source's secret and delivers it as `event` under `delivery`.
    async fn deliver(&self, event: &str, file: &Path, delivery: &str) -> (StatusCode, Value) {
        let signature = self.octokit.sign(secret("GITHUB_SECRET"), file).await;
        self.post(event, delivery, Some(&signature), read(file))
            .await
    }

    /// Delivers `file` as `event` with a new delivery id and asserts that Firebreak ignored
    /// it (200, `ignored`); `what` names the payload. The answer.
    async fn ignored(&self, what: &str, event: &str, file: &Path) -> Value {
        let (status, answer) = self.deliver(event, file, &delivery_id()).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (StatusCode::OK, Some("ignored")),
            "{what}: {answer}"
        );
        answer
    }

    /// Delivers `file` as `event` under `delivery`, which Firebreak must accept as one change.
    async fn accepted(&self, event: &str, file: &Path, delivery: &str) -> Accepted {
        let (status, answer) = self.deliver(event, file, delivery).await;
        assert_eq!(status, StatusCode::OK, "{event}: {answer}");
        assert_eq!(answer["status"], "accepted", "{event}: {answer}");
        let changes = answer["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{event}: {answer}");
        let change = changes[0]["change"].as_str().unwrap().to_owned();
        let new = changes[0]["new"].as_bool().unwrap();
        Accepted {
            change,
            new,
            answer,
        }
    }

    /// Delivers `file` as `event` under `delivery`, which must make a new change stored as
    /// `row` (see [`GitHub::stored`]) under `external_id`; its `CHG-<n>`.
    async fn new_change(
        &self,
        event: &str,
        file: &Path,
        delivery: &str,
        external_id: &str,
        row: String,
    ) -> String {
        let accepted = self.accepted(event, file, delivery).await;
        assert!(accepted.new, "{event}: a new change: {}", accepted.answer);
        assert_eq!(
            self.stored(external_id).await,
            Some(row),
            "{event}: the stored {external_id}: {}",
            accepted.answer
        );
        accepted.change
    }

    /// `kind sha ref status services` of the change with `external_id` from `gh`.
    async fn stored(&self, external_id: &str) -> Option<String> {
        text(
            self.db,
            &format!(
                "select concat_ws(' ', kind, coalesce(sha, '-'), coalesce(ref, '-'), \
                 coalesce(status, '-'), services::text) from change \
                 where source = 'gh' and external_id = '{external_id}'"
            ),
        )
        .await
    }
}

#[tokio::test]
async fn octokits_example_payloads_signed_by_octokit_become_changes() {
    let octokit = Octokit::new();
    let db = TestDb::new().await;
    let signals = Signals::start(&db).await;
    let gh = GitHub {
        signals: &signals,
        db: &db,
        octokit: &octokit,
    };

    let (deployment, deployment_payload) = octokit
        .find("deployment_status", "created", &|_| true)
        .await;
    let (push, push_payload) = octokit.find("push", "-", &to_default_branch).await;

    // Refused before anything is stored: another secret, a tampered body, no signature.
    let other = octokit.sign("not the secret", &deployment).await;
    let deployment_status = "deployment_status";
    gh.refused(
        "another secret",
        deployment_status,
        Some(&other),
        read(&deployment),
    )
    .await;
    let signature = octokit.sign(secret("GITHUB_SECRET"), &push).await;
    let after = string(&push_payload["after"]);
    let body = tampered(read(&push), after);
    gh.refused("a tampered body", "push", Some(&signature), body)
        .await;
    gh.refused("no signature", "push", None, read(&push)).await;
    expect_rows(&db, "refusals store nothing", &[("change", 0)], &no_log).await;
    expect_scalar(
        &db,
        "the ledger keeps each refusal",
        "select count(*) from alert_decision where source = 'gh' and decision = 'refused'",
        3,
        &no_log,
    )
    .await;

    // ping: the webhook is set up.
    let ping = octokit
        .example("ping", "-", 0)
        .await
        .expect("a ping example");
    gh.ignored("ping", "ping", &ping).await;

    // deployment_status: a deploy.
    let first_delivery = delivery_id();
    let status_id = deployment_payload["deployment_status"]["id"]
        .as_i64()
        .unwrap();
    let deployment_row = row(
        "deploy",
        string(&deployment_payload["deployment"]["sha"]),
        string(&deployment_payload["deployment"]["ref"]),
        string(&deployment_payload["deployment_status"]["state"]),
        &deployment_payload,
    );
    let external_id = format!("deployment_status:{status_id}");
    let deploy_change = gh
        .new_change(
            deployment_status,
            &deployment,
            &first_delivery,
            &external_id,
            deployment_row,
        )
        .await;
    let mut stored = vec![deploy_change.clone()];

    // A redelivery, with a new delivery id or the same one, is the same change.
    for (attempt, delivery) in [
        ("a new delivery id", delivery_id()),
        ("the same delivery id", first_delivery),
    ] {
        let again = gh.accepted(deployment_status, &deployment, &delivery).await;
        assert_eq!(
            (again.change.as_str(), again.new),
            (deploy_change.as_str(), false),
            "a redelivery with {attempt}: {}",
            again.answer
        );
    }
    let nothing_new = "redeliveries store nothing new";
    expect_rows(&db, nothing_new, &[("change", 1)], &no_log).await;

    // workflow_run completed: a change only for a workflow named like a deploy. Every
    // completed example is delivered as it is.
    let mut run_with_conclusion = None;
    let mut completed = 0;
    while let Some(run) = octokit
        .example("workflow_run", "completed", completed)
        .await
    {
        completed += 1;
        let payload = read_json(&run);
        let name = payload["workflow_run"]["name"].as_str().unwrap_or_default();
        if name.to_ascii_lowercase().contains("deploy") {
            let accepted = gh.accepted("workflow_run", &run, &delivery_id()).await;
            if accepted.new {
                stored.push(accepted.change);
            }
        } else {
            let not_a_deploy = format!("workflow `{name}` is not a deploy");
            let answer = gh.ignored(&not_a_deploy, "workflow_run", &run).await;
            let reason = answer["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("is not a deploy"),
                "the answer says why: {answer}"
            );
            let none = gh.stored(&run_id(&payload)).await;
            assert_eq!(none, None, "{not_a_deploy}: no change");
        }
        if run_with_conclusion.is_none() && !payload["workflow_run"]["conclusion"].is_null() {
            run_with_conclusion = Some(payload);
        }
    }
    assert!(completed > 0, "no completed workflow_run example");
    // A completed run of a workflow named like a deploy is a deploy: an example, renamed.
    let mut run_payload = run_with_conclusion.expect("a completed workflow_run with a conclusion");
    run_payload["workflow_run"]["name"] = json!("Deploy production");
    let before = gh.stored(&run_id(&run_payload)).await;
    let renamed = octokit.write("workflow_run-deploy.json", &run_payload);
    let accepted = gh.accepted("workflow_run", &renamed, &delivery_id()).await;
    assert_eq!(accepted.new, before.is_none(), "{}", accepted.answer);
    let workflow_run = &run_payload["workflow_run"];
    assert_eq!(
        gh.stored(&run_id(&run_payload)).await,
        Some(row(
            "deploy",
            string(&workflow_run["head_sha"]),
            string(&workflow_run["head_branch"]),
            string(&workflow_run["conclusion"]),
            &run_payload
        )),
        "{}",
        accepted.answer
    );
    if accepted.new {
        stored.push(accepted.change);
    }

    // push: to another ref it is nothing; to the default branch, a code change.
    let (tag_push, _) = octokit
        .find("push", "-", &|p| {
            p["ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("refs/tags/"))
        })
        .await;
    gh.ignored("a tag push", "push", &tag_push).await;
    let branch = string(&push_payload["repository"]["default_branch"]);
    let push_row = row("code", after, branch, "-", &push_payload);
    let external_id = format!("push:{after}");
    let change = gh
        .new_change("push", &push, &delivery_id(), &external_id, push_row)
        .await;
    stored.push(change);

    // release published: a release.
    let (release, release_payload) = octokit.find("release", "published", &|_| true).await;
    let tag = string(&release_payload["release"]["tag_name"]);
    let release_row = row("release", "-", tag, "-", &release_payload);
    let external_id = format!("release:{}", release_payload["release"]["id"]);
    let change = gh
        .new_change(
            "release",
            &release,
            &delivery_id(),
            &external_id,
            release_row,
        )
        .await;
    stored.push(change);

    // Agents see every stored change, and nothing else.
    let one_each = format!("one change per new answer: {stored:?}");
    let rows = i64::try_from(stored.len()).unwrap();
    expect_rows(&db, &one_each, &[("change", rows)], &no_log).await;
    let listed = ok(call(&signals.client, "list_changes", json!({})).await);
    let mut seen: Vec<(String, String)> = listed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                string(&c["change"]).to_owned(),
                string(&c["kind"]).to_owned(),
            )
        })
        .collect();
    seen.sort();
    stored.sort();
    let seen_changes: Vec<&String> = seen.iter().map(|(change, _)| change).collect();
    assert_eq!(
        seen_changes,
        stored.iter().collect::<Vec<_>>(),
        "{listed:#}"
    );
    let mut kinds: Vec<&str> = seen.iter().map(|(_, kind)| kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds, ["code", "deploy", "release"], "{listed:#}");
}

/// A new delivery id, as GitHub makes one per delivery.
fn delivery_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The string `value` must be.
fn string(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// Whether `push` is a push to its repository's default branch that deletes nothing.
fn to_default_branch(push: &Value) -> bool {
    let branch = push["repository"]["default_branch"]
        .as_str()
        .unwrap_or("main");
    push["ref"] == format!("refs/heads/{branch}") && push["deleted"] != true
}

/// A push `body` with the first digit of its `after` changed, so no signature of the
/// original fits it.
fn tampered(mut body: Vec<u8>, after: &str) -> Vec<u8> {
    let needle = format!("\"after\":\"{after}\"");
    let at = body
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
        .expect("the push body has its `after`")
        + "\"after\":\"".len();
    body[at] = if body[at] == b'0' { b'1' } else { b'0' };
    body
}

/// What [`GitHub::stored`] reads for a change of `kind` from `payload`'s repository (`-`
/// for a field it has none of).
fn row(kind: &str, sha: &str, git_ref: &str, status: &str, payload: &Value) -> String {
    format!("{kind} {sha} {git_ref} {status} {{{}}}", slug(payload))
}

/// `workflow_run:<run id>:<attempt>`, the identity of a run's change.
fn run_id(payload: &Value) -> String {
    format!(
        "workflow_run:{}:{}",
        payload["workflow_run"]["id"],
        payload["workflow_run"]["run_attempt"].as_i64().unwrap_or(1)
    )
}

/// The service a payload's repository is: its name, lowercased, other characters `-`.
fn slug(payload: &Value) -> String {
    let name = string(&payload["repository"]["name"]);
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
