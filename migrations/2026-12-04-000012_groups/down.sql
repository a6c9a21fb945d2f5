DROP TABLE member_group_members;
DROP TABLE member_groups;
