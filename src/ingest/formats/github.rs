//! GitHub webhooks: `deployment_status` (the primary deploy signal), `workflow_run` completed
//! for workflows named like deploys, `push` to the default branch (a low-weight code change),
//! `release` published, and `ping`. Each change's identity comes from the event itself (the
//! deployment status id, the run and attempt, the pushed sha, the release id), so a
//! redelivery is the same change.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::signals::change::is_failure;
use crate::domain::signals::{ActorKind, ChangeKind, NewChange};
use crate::ingest::formats::{FormatError, Parsed, json, slugify};

#[derive(Deserialize)]
struct Repository {
    name: String,
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct User {
    login: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl User {
    fn actor_kind(&self) -> ActorKind {
        if self.kind.as_deref() == Some("Bot") || self.login.ends_with("[bot]") {
            ActorKind::Automation
        } else {
            ActorKind::Human
        }
    }
}

#[derive(Deserialize)]
struct DeploymentStatusEvent {
    deployment_status: DeploymentStatus,
    deployment: Deployment,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Deserialize)]
struct DeploymentStatus {
    id: i64,
    state: String,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    creator: Option<User>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Deployment {
    sha: String,
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    environment: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowRunEvent {
    action: String,
    workflow_run: WorkflowRun,
    repository: Repository,
}

#[derive(Deserialize)]
struct WorkflowRun {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    run_number: Option<i64>,
    #[serde(default)]
    run_attempt: Option<i64>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    head_branch: Option<String>,
    head_sha: String,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    actor: Option<User>,
}

#[derive(Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    compare: Option<String>,
    #[serde(default)]
    commits: Vec<serde_json::Value>,
    #[serde(default)]
    head_commit: Option<HeadCommit>,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Deserialize)]
struct HeadCommit {
    message: String,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct ReleaseEvent {
    action: String,
    release: Release,
    repository: Repository,
}

#[derive(Deserialize)]
struct Release {
    id: i64,
    tag_name: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    author: Option<User>,
}

/// A GitHub delivery of event `event` (the `X-GitHub-Event` header).
pub(super) fn parse(event: Option<&str>, body: &[u8]) -> Result<Parsed, FormatError> {
    let Some(event) = event else {
        return Err(FormatError::new(
            "X-GitHub-Event",
            "header is missing: GitHub sends it with every delivery",
        ));
    };
    match event {
        "ping" => Ok(Parsed::Ignored("ping: the webhook is set up".into())),
        "deployment_status" => deployment_status(json(body)?),
        "workflow_run" => workflow_run(json(body)?),
        "push" => push(json(body)?),
        "release" => release(json(body)?),
        other => Ok(Parsed::Ignored(format!(
            "event `{other}` is not used; send deployment_status, workflow_run, push or release"
        ))),
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn deployment_status(e: DeploymentStatusEvent) -> Result<Parsed, FormatError> {
    let state = e.deployment_status.state.as_str();
    if !matches!(state, "success" | "failure" | "error") {
        return Ok(Parsed::Ignored(format!(
            "deployment status `{state}` is not an outcome yet"
        )));
    }
    let environment = e.deployment_status.environment.or(e.deployment.environment);
    let summary = format!(
        "Deploy {}@{} ({}) to {}: {state}",
        e.repository.full_name,
        e.deployment.git_ref,
        short(&e.deployment.sha),
        environment.as_deref().unwrap_or("an environment")
    );
    let mut change = NewChange::new(
        format!("deployment_status:{}", e.deployment_status.id),
        ChangeKind::Deploy,
        summary,
    );
    change.services = vec![slugify(&e.repository.name)];
    change.environment = environment;
    change.url = e
        .deployment_status
        .target_url
        .or(e.deployment_status.log_url)
        .or(e.repository.html_url);
    let actor = e.deployment_status.creator.or(e.sender);
    change.actor_kind = actor.as_ref().map(User::actor_kind);
    change.actor = actor.map(|a| a.login);
    change.sha = Some(e.deployment.sha);
    change.git_ref = Some(e.deployment.git_ref);
    change.failed = is_failure(state);
    change.status = Some(state.to_owned());
    change.occurred_at = e.deployment_status.updated_at;
    Ok(Parsed::Changes(vec![change]))
}

fn workflow_run(e: WorkflowRunEvent) -> Result<Parsed, FormatError> {
    let run = e.workflow_run;
    let name = run.name.clone().unwrap_or_default();
    if e.action != "completed" {
        return Ok(Parsed::Ignored(format!(
            "workflow_run `{}` is not completed",
            e.action
        )));
    }
    if !name.to_ascii_lowercase().contains("deploy") {
        return Ok(Parsed::Ignored(format!(
            "workflow `{name}` is not a deploy (only workflows whose name contains \"deploy\" are changes)"
        )));
    }
    let conclusion = run.conclusion.unwrap_or_else(|| "unknown".into());
    let branch = run.head_branch.unwrap_or_default();
    let summary = format!(
        "Workflow {name} #{} {conclusion} on {}@{branch} ({})",
        run.run_number.unwrap_or_default(),
        e.repository.full_name,
        short(&run.head_sha)
    );
    let mut change = NewChange::new(
        format!("workflow_run:{}:{}", run.id, run.run_attempt.unwrap_or(1)),
        ChangeKind::Deploy,
        summary,
    );
    change.services = vec![slugify(&e.repository.name)];
    change.url = run.html_url;
    change.actor_kind = run.actor.as_ref().map(User::actor_kind);
    change.actor = run.actor.map(|a| a.login);
    change.sha = Some(run.head_sha);
    change.git_ref = Some(branch);
    change.failed = is_failure(&conclusion);
    change.status = Some(conclusion);
    change.occurred_at = run.updated_at;
    Ok(Parsed::Changes(vec![change]))
}

fn push(e: PushEvent) -> Result<Parsed, FormatError> {
    let default = e
        .repository
        .default_branch
        .clone()
        .unwrap_or_else(|| "main".into());
    if e.git_ref != format!("refs/heads/{default}") || e.deleted {
        return Ok(Parsed::Ignored(format!(
            "push to `{}` is not to the default branch `{default}`",
            e.git_ref
        )));
    }
    let message = e
        .head_commit
        .as_ref()
        .map(|c| c.message.lines().next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let summary = format!(
        "Push to {}@{default}: {message} ({} commits)",
        e.repository.full_name,
        e.commits.len()
    );
    let mut change = NewChange::new(format!("push:{}", e.after), ChangeKind::Code, summary);
    change.services = vec![slugify(&e.repository.name)];
    change.url = e.compare;
    change.actor_kind = e.sender.as_ref().map(User::actor_kind);
    change.actor = e.sender.map(|s| s.login);
    change.sha = Some(e.after);
    change.git_ref = Some(default);
    change.occurred_at = e.head_commit.and_then(|c| c.timestamp);
    Ok(Parsed::Changes(vec![change]))
}

fn release(e: ReleaseEvent) -> Result<Parsed, FormatError> {
    if !matches!(e.action.as_str(), "published" | "released") {
        return Ok(Parsed::Ignored(format!(
            "release `{}` is not a publication",
            e.action
        )));
    }
    let r = e.release;
    let summary = match &r.name {
        Some(name) if !name.is_empty() => {
            format!("Release {} {}: {name}", e.repository.full_name, r.tag_name)
        }
        _ => format!("Release {} {}", e.repository.full_name, r.tag_name),
    };
    let mut change = NewChange::new(format!("release:{}", r.id), ChangeKind::Release, summary);
    change.services = vec![slugify(&e.repository.name)];
    change.url = r.html_url;
    change.actor_kind = r.author.as_ref().map(User::actor_kind);
    change.actor = r.author.map(|a| a.login);
    change.git_ref = Some(r.tag_name);
    change.occurred_at = r.published_at;
    Ok(Parsed::Changes(vec![change]))
}
