// Mirrors migrations/; kept by hand because the tables are few.

diesel::table! {
    churches (id) {
        id -> Int8,
        name -> Text,
        created_at -> Timestamptz,
        sending_paused_at -> Nullable<Timestamptz>,
        sending_paused_reason -> Nullable<Text>,
        sending_paused_by -> Nullable<Int8>,
        from_number -> Nullable<Text>,
        timezone -> Text,
        quiet_hours_enabled -> Bool,
        quiet_hours_start -> Time,
        quiet_hours_end -> Time,
        quiet_from -> Nullable<Timestamptz>,
        quiet_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    conversations (id) {
        id -> Int8,
        church_id -> Int8,
        phone -> Text,
        unread -> Int4,
        last_direction -> Text,
        last_body -> Text,
        last_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    conversation_entries (id) {
        id -> Int8,
        conversation_id -> Int8,
        direction -> Text,
        body -> Text,
        recipient_id -> Nullable<Int8>,
        message_id -> Nullable<Int8>,
        at -> Timestamptz,
    }
}

diesel::table! {
    unrouted_replies (id) {
        id -> Int8,
        event_id -> Text,
        from_phone -> Text,
        to_phone -> Nullable<Text>,
        body -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        church_id -> Nullable<Int8>,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        token_version -> Int4,
        standing_changed_at -> Timestamptz,
        phone -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        user_id -> Int8,
        expires_at -> Timestamptz,
        revoked_at -> Timestamptz,
    }
}

diesel::table! {
    members (id) {
        id -> Int8,
        church_id -> Int8,
        name -> Text,
        phone -> Text,
        created_at -> Timestamptz,
        opted_out_at -> Nullable<Timestamptz>,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    messages (id) {
        id -> Int8,
        church_id -> Int8,
        sender_id -> Int8,
        body -> Text,
        status -> Text,
        recipient_count -> Int4,
        delivered_count -> Int4,
        failed_count -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        send_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        urgent -> Bool,
        held_for_quiet_hours -> Bool,
        held_from -> Nullable<Timestamptz>,
        sent_count -> Nullable<Int4>,
    }
}

diesel::table! {
    message_recipients (id) {
        id -> Int8,
        message_id -> Int8,
        member_id -> Int8,
        phone -> Text,
        status -> Text,
        status_rank -> Int2,
        provider_message_id -> Nullable<Text>,
        attempts -> Int4,
        failure_reason -> Nullable<Text>,
        updated_at -> Timestamptz,
        outbox_state -> Text,
        next_attempt_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        lookup_since -> Nullable<Timestamptz>,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Int8,
        recipient_id -> Int8,
        attempt -> Int4,
        at -> Timestamptz,
        http_status -> Nullable<Int4>,
        code -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Int8,
        key -> Text,
        request -> Text,
        message_id -> Int8,
        response -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_events (event_id) {
        event_id -> Text,
        event_type -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    dead_letters (id) {
        id -> Int8,
        church_id -> Int8,
        message_id -> Int8,
        recipient_id -> Int8,
        phone -> Text,
        reason -> Text,
        attempts -> Jsonb,
        created_at -> Timestamptz,
        resolution -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        resolved_by -> Nullable<Int8>,
        resolution_note -> Nullable<Text>,
    }
}

diesel::table! {
    chat_channels (id) {
        id -> Int8,
        church_id -> Int8,
        name -> Text,
        created_by -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    chat_channel_members (channel_id, user_id) {
        channel_id -> Int8,
        user_id -> Int8,
    }
}

diesel::table! {
    chat_messages (id) {
        id -> Int8,
        church_id -> Int8,
        room -> Text,
        user_id -> Int8,
        body -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamptz,
        mentions -> Array<Int8>,
    }
}

diesel::table! {
    chat_reads (room, user_id) {
        room -> Text,
        user_id -> Int8,
        message_id -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    member_groups (id) {
        id -> Int8,
        church_id -> Int8,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    member_group_members (group_id, member_id) {
        group_id -> Int8,
        member_id -> Int8,
        added_at -> Timestamptz,
    }
}

diesel::joinable!(users -> churches (church_id));
diesel::joinable!(member_groups -> churches (church_id));
diesel::joinable!(member_group_members -> member_groups (group_id));
diesel::joinable!(member_group_members -> members (member_id));
diesel::joinable!(conversations -> churches (church_id));
diesel::joinable!(conversation_entries -> conversations (conversation_id));
diesel::joinable!(conversation_entries -> message_recipients (recipient_id));
diesel::joinable!(chat_channel_members -> chat_channels (channel_id));
diesel::joinable!(members -> churches (church_id));
diesel::joinable!(messages -> churches (church_id));
diesel::joinable!(message_recipients -> messages (message_id));
diesel::joinable!(message_recipients -> members (member_id));
diesel::joinable!(delivery_attempts -> message_recipients (recipient_id));

diesel::allow_tables_to_appear_in_same_query!(
    churches,
    member_groups,
    member_group_members,
    conversations,
    conversation_entries,
    unrouted_replies,
    users,
    revoked_tokens,
    members,
    messages,
    message_recipients,
    webhook_events,
    dead_letters,
    delivery_attempts,
    idempotency_keys,
    chat_channels,
    chat_channel_members,
    chat_messages,
    chat_reads,
);
