//! `belfry demo`: the server with the sandbox carrier and demo data, created idempotently, so
//! the product can be tried on a fresh machine with no Telnyx account.

use belfry_actors::ports::{Audience, NewNotification};
use belfry_actors::protocol::Category;

use crate::app::Application;
use crate::auth::{JwtKeys, TokenSubject};
use crate::config::{CarrierConfig, Config, Env, Source};
use crate::db::{self, churches, members, users};
use crate::domain::{EmailAddress, GroupName, PhoneNumber, Role};

pub const DEMO_PASSWORD: &str = "belfry-demo-2026";

struct DemoChurch {
    name: &'static str,
    slug: &'static str,
    members: &'static [&'static str],
    /// Groups by name, with the members (by their place in `members`) in each.
    groups: &'static [(&'static str, &'static [usize])],
}

const CHURCHES: &[DemoChurch] = &[
    DemoChurch {
        name: "Grace Chapel",
        slug: "grace",
        members: &[
            "Ada Whitfield",
            "Ben Okafor",
            "Clara Lindqvist",
            "Dmitri Haas",
            "Esther Mbeki",
            "Felix Moreau",
            "Grace Tanaka",
            "Hugo Alvarez",
            "Ines Kowalski",
            "Jonah Reyes",
        ],
        groups: &[("Choir", &[0, 2, 4, 6]), ("Youth", &[1, 7, 9])],
    },
    DemoChurch {
        name: "St. Brendan's Parish",
        slug: "stbrendan",
        members: &[
            "Aoife Byrne",
            "Brian Kelly",
            "Ciara Walsh",
            "Declan Murphy",
            "Eimear Doyle",
            "Fionn Ryan",
            "Grainne Nolan",
            "Liam Gallagher",
            "Niamh Quinn",
            "Sean Brennan",
        ],
        groups: &[("Choir", &[0, 3, 5]), ("Parish council", &[2, 8])],
    },
];

/// 555-01xx numbers are reserved for fiction.
fn demo_phone(church_index: usize, member_index: usize) -> PhoneNumber {
    let raw = format!("+1202555{:02}{:02}", 1 + church_index, member_index);
    PhoneNumber::parse(&raw).unwrap_or_else(|_| unreachable!("demo numbers are E.164"))
}

pub async fn run() -> Result<(), String> {
    // The demo runs without any setup: a per-run JWT secret and the sandbox carrier unless the
    // environment says otherwise.
    let fallback_secret: [u8; 32] = rand::random();
    let demo_env = |name: &str| match name {
        "BELFRY_SANDBOX_FAILURE_RATE" => Env.get(name).or_else(|| Some("0.1".into())),
        // Some members answer, so the Conversations page has something to show.
        "BELFRY_SANDBOX_REPLY_RATE" => Env.get(name).or_else(|| Some("0.2".into())),
        // Unread notifications reach the sandbox mail within a minute, not five.
        "BELFRY_NOTIFY_FALLBACK_SECS" => Env.get(name).or_else(|| Some("60".into())),
        _ => Env.get(name),
    };
    let config = Config::from_source(&demo_env, Some(fallback_secret.to_vec()))
        .map_err(|e| e.to_string())?;
    if !matches!(config.carrier, CarrierConfig::Sandbox { .. }) {
        tracing::warn!("TELNYX_API_KEY is set: the demo will send real SMS to the demo numbers");
    }
    let jwt = JwtKeys::new(config.jwt.clone());
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    let pool = app.state().pool.clone();
    let mut logins = Vec::new();
    let mut people = Vec::new();
    for (ci, church) in CHURCHES.iter().enumerate() {
        let church_id = ensure_church(&pool, church, ci).await?;
        for role in [Role::Admin, Role::Staff] {
            let email = format!("{}@{}.example", role.as_str(), church.slug);
            let user = ensure_user(&pool, Some(church_id), &email, role).await?;
            people.push(user.id);
            logins.push((church.name, email, role, token_for(&jwt, &user)?));
        }
    }
    let email = "operator@belfry.example".to_owned();
    let operator = ensure_user(&pool, None, &email, Role::Operator).await?;
    people.push(operator.id);
    welcome(&pool, people).await?;
    logins.push((
        "(the platform)",
        email,
        Role::Operator,
        token_for(&jwt, &operator)?,
    ));
    print_instructions(app.public_url(), &logins);
    let handle = app.shutdown_handle();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown();
    });
    app.run().await;
    Ok(())
}

/// Everyone's inbox starts with a welcome (once, however often the demo runs).
async fn welcome(pool: &db::DbPool, people: Vec<i64>) -> Result<(), String> {
    let note = NewNotification {
        category: Category::Announcement,
        priority: Category::Announcement.default_priority(),
        title: "Welcome to Belfry".to_owned(),
        body: "Your notifications arrive here: when your broadcast finishes, when sending is \
               paused, and what your admins announce. Send a message to see the first one."
            .to_owned(),
        data: serde_json::Value::Object(Default::default()),
        church_id: None,
        dedup_key: Some("demo:welcome".to_owned()),
    };
    let mut conn = db::get(pool).await.map_err(|e| e.to_string())?;
    db::notifications::create(
        &mut conn,
        &Audience::Users(people),
        &note,
        None,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

async fn ensure_church(
    pool: &db::DbPool,
    church: &DemoChurch,
    index: usize,
) -> Result<i64, String> {
    let id = match churches::find_by_name(pool, church.name)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(c) => c.id,
        None => {
            churches::create(pool, church.name)
                .await
                .map_err(|e| e.to_string())?
                .id
        }
    };
    for (mi, name) in church.members.iter().enumerate() {
        match members::create(pool, id, name, &demo_phone(index, mi)).await {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    // Joining a group twice changes nothing, so a second run leaves them as they are.
    let listed = members::list(pool, id).await.map_err(|e| e.to_string())?;
    let mut memberships = Vec::new();
    for (group, places) in church.groups {
        let group = GroupName::parse(group).map_err(|e| e.to_string())?;
        for &place in *places {
            let name = church.members[place];
            if let Some(member) = listed.iter().find(|m| m.name == name) {
                memberships.push((member.id, vec![group.clone()]));
            }
        }
    }
    db::groups::join_by_name(pool, id, &memberships)
        .await
        .map_err(|e| e.to_string())?;
    Ok(id)
}

async fn ensure_user(
    pool: &db::DbPool,
    church_id: Option<i64>,
    email: &str,
    role: Role,
) -> Result<users::UserRow, String> {
    let parsed = EmailAddress::parse(email).map_err(|e| e.to_string())?;
    let find = async || {
        users::find_by_email(pool, &parsed)
            .await
            .map_err(|e| e.to_string())
    };
    if let Some(user) = find().await? {
        return Ok(user);
    }
    let name = format!("Demo {}", role.as_str());
    crate::accounts::create_user(
        pool,
        church_id,
        email,
        &name,
        role.as_str(),
        DEMO_PASSWORD.into(),
    )
    .await?;
    find().await?.ok_or_else(|| format!("{email} vanished"))
}

fn token_for(jwt: &JwtKeys, user: &users::UserRow) -> Result<String, String> {
    let subject = TokenSubject::of(user).map_err(|e| e.to_string())?;
    Ok(jwt.mint(&subject).map_err(|e| e.to_string())?.token)
}

fn print_instructions(url: &str, logins: &[(&str, String, Role, String)]) {
    println!("\nBelfry demo is running at {url} (sandbox carrier: no real SMS is sent)\n");
    println!("The console: open {url}/ in a browser and sign in.\n");
    println!("Logins (password for all: {DEMO_PASSWORD}):");
    for (church, email, role, _) in logins {
        println!("  {church:<22} {:<6} {email}", role.as_str());
    }
    let (_, email, _, token) = &logins[1];
    let ws_url = url.replacen("http", "ws", 1);
    println!("\nOr from a terminal:");
    println!(
        "  curl -s {url}/api/auth/login -H 'content-type: application/json' \\\n    -d '{{\"email\":\"{email}\",\"password\":\"{DEMO_PASSWORD}\"}}'"
    );
    println!("  TOKEN={token}");
    println!("  curl -s {url}/api/members -H \"authorization: Bearer $TOKEN\"");
    println!(
        "  curl -s {url}/api/messages -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\\n    -d '{{\"body\":\"Choir practice moves to 7pm\",\"allMembers\":true}}'"
    );
    println!("\nWatch delivery live (any WebSocket client, e.g. websocat):");
    println!("  websocat \"{ws_url}/ws?token=$TOKEN\"");
    let (_, _, _, admin_token) = &logins[0];
    println!("\nNotifications left unread for a minute are emailed; with no BELFRY_SMTP_URL the");
    println!("sandbox keeps them (the console's Notifications page shows them to admins):");
    println!("  curl -s {url}/api/admin/mail -H \"authorization: Bearer {admin_token}\"\n");
}
