//! Two-way texts: a reply becomes the church's conversation with the phone (with what the church
//! sent it before), staff answer and read it, everything live on the church's room; texts find
//! their church by the number they were sent to; STOP and START show in the thread; a text for
//! no church is kept for operators. Over real HTTP and sockets, with signed inbound webhooks.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::FakeTelnyx;
use super::helpers::{TestApp, WsClient, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

async fn texted(app: &TestApp, body: &str) -> Value {
    let response = app.telnyx.post_webhook(&app.url, body).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn next_conversation_event(socket: &mut WsClient, kind: &str) -> Value {
    socket
        .until(WAIT, |f| f["type"] == kind)
        .await
        .pop()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_becomes_a_conversation_that_staff_answer_and_read_live() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&staff).await;
    let member = app.grace.member_ids[0];
    let phone = app.phone_of(&staff, member).await;
    let broadcast = app.send(&staff, &app.grace.member_ids).await;
    app.accepted(&staff, broadcast, app.grace.member_ids.len())
        .await;

    let reply = FakeTelnyx::inbound("in-1", &phone, "Thanks! See you Sunday");
    assert_eq!(texted(&app, &reply).await["outcome"], "received");
    let event = next_conversation_event(&mut socket, "conversation:message").await;
    assert_eq!(event["direction"], "inbound");
    assert_eq!(event["message"]["body"], "Thanks! See you Sunday");
    assert_eq!(
        (event["unread"].clone(), event["unreadTotal"].clone()),
        (json!(1), json!(1))
    );
    let id = event["conversationId"].as_i64().unwrap();
    // The carrier may deliver a webhook twice: the second changes nothing.
    assert_eq!(texted(&app, &reply).await["outcome"], "duplicate");

    let list = app.get_json("/api/conversations", &staff).await;
    assert_eq!(list["unreadTotal"], 1);
    let conversations = list["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1);
    let conversation = &conversations[0];
    assert_eq!(conversation["id"], id);
    assert_eq!(conversation["memberId"], member);
    assert_eq!(conversation["memberName"], "Member 0");
    assert_eq!(conversation["phone"], phone.as_str());
    assert_eq!(conversation["unread"], 1);
    assert_eq!(conversation["lastMessage"]["direction"], "inbound");
    assert_eq!(
        conversation["lastMessage"]["body"],
        "Thanks! See you Sunday"
    );

    // The thread starts with the broadcast the phone was answering, with its status.
    let thread = app
        .get_json(&format!("/api/conversations/{id}/messages"), &staff)
        .await;
    let lines = thread["messages"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{thread}");
    assert_eq!(lines[0]["direction"], "outbound");
    assert_eq!(lines[0]["messageId"], broadcast);
    assert!(lines[0]["status"].is_string());
    assert_eq!(lines[1]["direction"], "inbound");
    assert_eq!(thread["nextBefore"], Value::Null);

    // A reply goes through the pipeline to that one phone.
    let answer = app
        .post_json(
            &format!("/api/conversations/{id}/messages"),
            Some(&staff),
            &json!({"body": "Glad to hear it"}),
        )
        .await;
    assert_eq!(answer.status(), 202);
    let receipt: Value = answer.json().await.unwrap();
    assert_eq!(receipt["recipientCount"], 1);
    let event = next_conversation_event(&mut socket, "conversation:message").await;
    assert_eq!(event["direction"], "outbound");
    assert_eq!(event["message"]["messageId"], receipt["id"]);
    let carried = app
        .telnyx
        .wait_for_requests(app.grace.member_ids.len() + 1)
        .await;
    let last = carried.last().unwrap();
    assert_eq!(last.body["to"], phone.as_str());
    assert_eq!(last.body["text"], "Glad to hear it");
    let thread = app
        .get_json(&format!("/api/conversations/{id}/messages"), &staff)
        .await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 3);
    // Paging back from the newest line.
    let older = app
        .get_json(
            &format!(
                "/api/conversations/{id}/messages?limit=1&before={}",
                thread["messages"][2]["id"]
            ),
            &staff,
        )
        .await;
    assert_eq!(older["messages"][0]["direction"], "inbound");
    assert_eq!(older["nextBefore"], older["messages"][0]["id"]);

    let read = app
        .post_json(
            &format!("/api/conversations/{id}/read"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);
    let event = next_conversation_event(&mut socket, "conversation:read").await;
    assert_eq!(event["conversationId"], id);
    assert_eq!(event["unreadTotal"], 0);
    let unread = app.get_json("/api/conversations?unread=true", &staff).await;
    assert_eq!(unread["conversations"], json!([]));

    // Another church sees none of it and can touch none of it.
    let other = app.login(&app.other.staff_email).await;
    assert_eq!(
        app.get_json("/api/conversations", &other).await["conversations"],
        json!([])
    );
    let thread_path = format!("/api/conversations/{id}/messages");
    assert_eq!(app.get(&thread_path, &other).await.status(), 404);
    let intrude = app
        .post_json(&thread_path, Some(&other), &json!({"body": "hello"}))
        .await;
    assert_eq!(intrude.status(), 404);
    let read_path = format!("/api/conversations/{id}/read");
    assert_eq!(
        app.post_json(&read_path, Some(&other), &json!({}))
            .await
            .status(),
        404
    );
    let bad = app.get("/api/conversations?limit=0", &staff).await;
    assert_eq!(bad.status(), 400);
    let garbage = app.get("/api/conversations?before=nonsense", &staff).await;
    assert_eq!(garbage.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_churchs_own_number_takes_texts_from_strangers_who_staff_can_add_and_answer() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let admin = app.login(&app.other.admin_email).await;
    let own = "+15550002222";
    let path = format!("/api/admin/church?churchId={}", app.other.id);
    // Numbers route replies: only operators assign them.
    let refused = app
        .patch_json("/api/admin/church", &admin, &json!({"fromNumber": own}))
        .await;
    assert_eq!(refused.status(), 403);
    let set = app
        .patch_json(&path, &operator, &json!({"fromNumber": own}))
        .await;
    assert_eq!(set.status(), 200);
    let settings: Value = set.json().await.unwrap();
    assert_eq!(settings["fromNumber"], own);
    assert_eq!(settings["sendsFrom"], own);
    let grace = format!("/api/admin/church?churchId={}", app.grace.id);
    let taken = app
        .patch_json(&grace, &operator, &json!({"fromNumber": own}))
        .await;
    assert_eq!(taken.status(), 409);
    let shared = app
        .patch_json(&grace, &operator, &json!({"fromNumber": "+15550001111"}))
        .await;
    assert_eq!(
        shared.status(),
        409,
        "the platform's number is nobody's own"
    );
    let garbage = app
        .patch_json(&grace, &operator, &json!({"fromNumber": "call me"}))
        .await;
    assert_eq!(garbage.status(), 400);
    assert_eq!(
        app.get_json("/api/admin/church", &admin).await["fromNumber"],
        own
    );

    let staff = app.login(&app.other.staff_email).await;
    let mut socket = app.connect(&staff).await;
    let stranger = "+15557770001";
    let text = FakeTelnyx::inbound_to("in-s", stranger, own, "Is there parking?");
    assert_eq!(texted(&app, &text).await["outcome"], "received");
    let event = next_conversation_event(&mut socket, "conversation:message").await;
    let id = event["conversationId"].as_i64().unwrap();
    let list = app.get_json("/api/conversations", &staff).await;
    assert_eq!(list["conversations"][0]["memberId"], Value::Null);
    assert_eq!(list["conversations"][0]["phone"], stranger);
    let reply_path = format!("/api/conversations/{id}/messages");
    let not_yet = app
        .post_json(
            &reply_path,
            Some(&staff),
            &json!({"body": "Yes, behind the hall"}),
        )
        .await;
    assert_eq!(not_yet.status(), 409);
    let error: Value = not_yet.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_a_member");

    // Once the phone is a member, the conversation is theirs and a reply goes from the
    // church's own number.
    let added = app
        .post_json(
            "/api/members",
            Some(&staff),
            &json!({"name": "Pat Visitor", "phone": stranger}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let list = app.get_json("/api/conversations", &staff).await;
    assert_eq!(list["conversations"][0]["memberName"], "Pat Visitor");
    let sent = app
        .post_json(
            &reply_path,
            Some(&staff),
            &json!({"body": "Yes, behind the hall"}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    let request = app.telnyx.wait_for_requests(1).await.pop().unwrap();
    assert_eq!(request.body["to"], stranger);
    assert_eq!(request.body["from"], own);
    // Grace, without a number of its own, never heard of it.
    let grace_staff = app.login(&app.grace.staff_email).await;
    assert_eq!(
        app.get_json("/api/conversations", &grace_staff).await["conversations"],
        json!([])
    );
}

/// Whether the church's member with `phone` has opted out.
async fn opted(app: &TestApp, token: &str, phone: &str) -> bool {
    app.get_json("/api/members", token).await["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["phone"] == phone)
        .unwrap()["optedOutAt"]
        .is_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_start_show_in_the_thread_and_reach_only_the_church_texted() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let own = "+15550003333";
    let path = format!("/api/admin/church?churchId={}", app.other.id);
    assert_eq!(
        app.patch_json(&path, &operator, &json!({"fromNumber": own}))
            .await
            .status(),
        200
    );
    // One phone, a member of both churches.
    let grace_staff = app.login(&app.grace.staff_email).await;
    let phone = app.phone_of(&grace_staff, app.grace.member_ids[0]).await;
    let staff = app.login(&app.other.staff_email).await;
    let added = app
        .post_json(
            "/api/members",
            Some(&staff),
            &json!({"name": "Sam Both", "phone": phone}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let member: Value = added.json().await.unwrap();

    let stop = FakeTelnyx::inbound_to("in-stop", &phone, own, "STOP");
    assert_eq!(texted(&app, &stop).await["outcome"], "opted_out");
    assert!(
        opted(&app, &staff, &phone).await,
        "the church texted is opted out"
    );
    assert!(
        !opted(&app, &grace_staff, &phone).await,
        "a church with another number is not"
    );

    let list = app.get_json("/api/conversations", &staff).await;
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    assert_eq!(list["conversations"][0]["memberId"], member["id"]);
    let thread = app
        .get_json(&format!("/api/conversations/{id}/messages"), &staff)
        .await;
    let lines = thread["messages"].as_array().unwrap();
    assert_eq!(lines[0]["direction"], "inbound");
    assert_eq!(lines[0]["body"], "STOP");
    assert_eq!(lines[1]["direction"], "system");
    let reply_path = format!("/api/conversations/{id}/messages");
    let refused = app
        .post_json(
            &reply_path,
            Some(&staff),
            &json!({"body": "Sorry to see you go"}),
        )
        .await;
    assert_eq!(refused.status(), 409);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "member_opted_out");

    let start = FakeTelnyx::inbound_to("in-start", &phone, own, "start");
    assert_eq!(texted(&app, &start).await["outcome"], "opted_in");
    assert!(!opted(&app, &staff, &phone).await);
    let thread = app
        .get_json(&format!("/api/conversations/{id}/messages"), &staff)
        .await;
    let last = thread["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["direction"], "system");
    assert_eq!(last["body"], "Opted back in");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_shared_number_a_reply_goes_to_the_church_that_last_texted_the_phone() {
    let app = spawn_app().await;
    let grace_staff = app.login(&app.grace.staff_email).await;
    let phone = app.phone_of(&grace_staff, app.grace.member_ids[0]).await;
    let staff = app.login(&app.other.staff_email).await;
    let added = app
        .post_json(
            "/api/members",
            Some(&staff),
            &json!({"name": "Sam Both", "phone": phone}),
        )
        .await;
    let member: Value = added.json().await.unwrap();
    app.send(&grace_staff, &app.grace.member_ids[..1]).await;
    let id = app.send(&staff, &[member["id"].as_i64().unwrap()]).await;
    app.accepted(&staff, id, 1).await;

    let reply = FakeTelnyx::inbound("in-shared", &phone, "Which service?");
    assert_eq!(texted(&app, &reply).await["outcome"], "received");
    let theirs = app.get_json("/api/conversations", &staff).await;
    assert_eq!(theirs["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get_json("/api/conversations", &grace_staff).await["conversations"],
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_for_no_church_is_kept_for_operators() {
    let app = spawn_app().await;
    let nobody = FakeTelnyx::inbound_to("in-x", "+15557770009", "+15559990000", "hello?");
    assert_eq!(texted(&app, &nobody).await["outcome"], "unrouted");
    let stranger = FakeTelnyx::inbound("in-y", "+15557770008", "who is this");
    assert_eq!(texted(&app, &stranger).await["outcome"], "unrouted");

    let operator = app.operator().await;
    let kept = app.get_json("/api/admin/unrouted-replies", &operator).await;
    let replies = kept["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["from"], "+15557770008");
    assert_eq!(replies[1]["to"], "+15559990000");
    assert_eq!(replies[1]["body"], "hello?");
    let admin = app.login(&app.grace.admin_email).await;
    assert_eq!(
        app.get("/api/admin/unrouted-replies", &admin)
            .await
            .status(),
        403
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_carriers_members_answer_so_conversations_work_without_an_account() {
    let app = spawn_app_with(&[
        ("TELNYX_API_KEY", ""),
        ("BELFRY_SANDBOX_DELAY_MS", "50"),
        ("BELFRY_SANDBOX_FAILURE_RATE", "0"),
        ("BELFRY_SANDBOX_REPLY_RATE", "1"),
    ])
    .await;
    let staff = app.login(&app.grace.staff_email).await;
    app.send(&staff, &app.grace.member_ids).await;
    let n = app.grace.member_ids.len();
    let mut list = Value::Null;
    for _ in 0..300 {
        list = app.get_json("/api/conversations", &staff).await;
        if list["conversations"].as_array().unwrap().len() == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conversations = list["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), n, "every member answered: {list}");
    assert_eq!(list["unreadTotal"], n);
    for conversation in conversations {
        assert_eq!(conversation["lastMessage"]["direction"], "inbound");
        assert!(conversation["memberId"].is_i64());
    }
    let other = app.login(&app.other.staff_email).await;
    assert_eq!(
        app.get_json("/api/conversations", &other).await["conversations"],
        json!([])
    );
}
