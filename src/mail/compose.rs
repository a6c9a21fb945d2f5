//! How a notification, or a digest of several, becomes an email: the subject, a plain-text part
//! and an HTML part, written by the templates in `templates/` with minijinja (strict about
//! missing values; the HTML templates escape everything they are given, so a title such as
//! `<script>` arrives as text).

use std::sync::LazyLock;

use minijinja::{Environment, UndefinedBehavior, context};

use super::Email;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Auto-escaping is chosen by name: the `.html` templates escape HTML, the `.txt` none.
    for (name, source) in [
        (
            "notification.txt",
            include_str!("templates/notification.txt"),
        ),
        (
            "notification.html",
            include_str!("templates/notification.html"),
        ),
        ("digest.txt", include_str!("templates/digest.txt")),
        ("digest.html", include_str!("templates/digest.html")),
    ] {
        env.add_template(name, source)
            .expect("the email templates are valid");
    }
    env
});

/// Who an email is for.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub church_id: Option<i64>,
}

/// One notification, as its title and body.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Item<'a> {
    pub title: &'a str,
    pub body: &'a str,
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(ctx))
        // The templates are the project's own and are given every value they name.
        .unwrap_or_else(|e| panic!("email template {name} cannot be rendered: {e}"))
}

/// The console's notifications page, where the inbox and the preferences are.
fn page(console: &str) -> String {
    format!("{}/#/notifications", console.trim_end_matches('/'))
}

/// The email for one notification; `console` is where the console is served.
pub fn notification(to: Addressee<'_>, item: Item<'_>, console: &str) -> Email {
    let link = page(console);
    let ctx = context! { title => item.title, body => item.body, preferences => link, link };
    Email {
        to: to.email.to_owned(),
        to_name: to.name.to_owned(),
        subject: one_line(item.title),
        text: render("notification.txt", ctx.clone()),
        html: render("notification.html", ctx),
        church_id: to.church_id,
    }
}

/// An email a template wrote; without HTML of its own, the text in the usual layout.
pub fn written(
    to: Addressee<'_>,
    (subject, text, html): (&str, &str, Option<&str>),
    console: &str,
) -> Email {
    let html = match html {
        Some(html) => html.to_owned(),
        None => {
            let link = page(console);
            let ctx = context! { title => subject, body => text, preferences => link, link };
            render("notification.html", ctx)
        }
    };
    Email {
        to: to.email.to_owned(),
        to_name: to.name.to_owned(),
        subject: one_line(subject),
        text: text.to_owned(),
        html,
        church_id: to.church_id,
    }
}

/// One email gathering `items`, oldest first.
pub fn digest(to: Addressee<'_>, items: &[Item<'_>], console: &str) -> Email {
    let link = page(console);
    let subject = match items.len() {
        1 => "Your Belfry digest: 1 notification".to_owned(),
        n => format!("Your Belfry digest: {n} notifications"),
    };
    let ctx = context! { items, preferences => link, link };
    Email {
        to: to.email.to_owned(),
        to_name: to.name.to_owned(),
        subject,
        text: render("digest.txt", ctx.clone()),
        html: render("digest.html", ctx),
        church_id: to.church_id,
    }
}

/// A subject is one line: line breaks in a title would end the header.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: Addressee<'static> = Addressee {
        email: "ann@grace.test",
        name: "Ann",
        church_id: Some(1),
    };

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let email = notification(
            TO,
            Item {
                title: "Choir <practice>\r\nBcc: x@y",
                body: "Bring \"music\" & <b>coffee</b>",
            },
            "https://belfry.example/",
        );
        assert_eq!(email.subject, "Choir <practice> Bcc: x@y");
        assert!(
            email
                .html
                .contains("Bring &quot;music&quot; &amp; &lt;b&gt;coffee&lt;&#x2f;b&gt;")
        );
        assert!(!email.html.contains("<b>coffee"));
        assert!(email.text.contains("Bring \"music\" & <b>coffee</b>"));
        assert!(
            email
                .text
                .contains("https://belfry.example/#/notifications")
        );
    }

    #[test]
    fn a_digest_lists_every_item() {
        let items = [
            Item {
                title: "First",
                body: "one",
            },
            Item {
                title: "Second",
                body: "two",
            },
        ];
        let email = digest(TO, &items, "http://127.0.0.1:8080");
        assert_eq!(email.subject, "Your Belfry digest: 2 notifications");
        assert!(
            email
                .text
                .starts_with("2 notifications since your last digest:")
        );
        assert!(email.text.contains("- First\n  one") && email.text.contains("- Second\n  two"));
        assert!(email.html.contains("<strong>Second</strong>"));
    }
}
