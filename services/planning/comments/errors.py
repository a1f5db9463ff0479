"""Errors specific to comments."""

import uuid

from shared.errors import Forbidden, InvalidInput, NotFound


class CommentNotFound(NotFound):
    def __init__(self, comment_id: uuid.UUID, *, field: str = "comment_id") -> None:
        super().__init__(f"no comment with id {comment_id} in this tenant", field=field)


class SubjectNotFound(NotFound):
    def __init__(self, subject_type: str, subject_id: uuid.UUID) -> None:
        super().__init__(
            f"no {subject_type.replace('_', ' ')} with id {subject_id} in this tenant",
            field="subject_id",
        )


class ReplyElsewhere(InvalidInput):
    def __init__(self, reply_to: uuid.UUID) -> None:
        super().__init__(
            f"comment {reply_to} is about another subject: a reply must be on the same subject",
            field="reply_to",
        )


class NotTheAuthor(Forbidden):
    slug, title = "not-the-author", "Only the author can change a comment"

    def __init__(self, action: str) -> None:
        super().__init__(f"only the key that wrote a comment can {action} it (or an admin key)")
