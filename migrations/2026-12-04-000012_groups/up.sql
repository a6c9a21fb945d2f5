-- Groups of a church's members ("Choir", "Youth"): an audience to send to. A name is unique in
-- its church whatever its case; removing a group leaves its members as they are.
CREATE TABLE member_groups (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX member_groups_church_name ON member_groups (church_id, lower(name));

CREATE TABLE member_group_members (
    group_id BIGINT NOT NULL REFERENCES member_groups (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members (id),
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX member_group_members_member ON member_group_members (member_id);
