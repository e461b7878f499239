"""`triad/<agent>` on the OpenAI facade: a checked customer turn, never a raw model answer.

Every claim the customer receives was checked by the critic, so the facade runs the whole turn
(teacher and student, critic, decision) before anything is sent. A stream is the checked reply
cut into pieces. The turn is stored like a chat turn, in a new session seeded with the
request's earlier user and assistant messages (the agent's versioned prompt replaces the
client's system messages); the session's id and token come back in the `triad` field, so a
client can read a staff answer to an escalated turn at `GET /chat/sessions/{id}`.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from triad import errors
from triad.api.openai_shapes import (
    SSE_DONE,
    ChatCompletionIn,
    chunk_body,
    completion_body,
    completion_id,
    sse,
    usage,
)
from triad.api.routes.chat import MAX_MESSAGE_CHARS
from triad.conversations import service
from triad.db.models import Message
from triad.knowledge.embedding import TextEmbedder
from triad.runtime import Runtime

_PIECES = re.compile(r"\S+\s*|\s+")


async def agent_turn(
    body: ChatCompletionIn,
    agent: str,
    session: AsyncSession,
    runtime: Runtime,
    tenant: str,
    embedder: TextEmbedder,
    api_key_id: int | None = None,
) -> Response:
    """One checked customer turn; streamed out in pieces when asked, after the critic ran."""
    *earlier, last = body.chat
    if last.role != "user" or not last.content.strip():
        raise errors.InputError("the last message must be a non-blank user message")
    if len(last.content) > MAX_MESSAGE_CHARS:
        raise errors.InputError(f"the last message is over {MAX_MESSAGE_CHARS} characters")
    conversation, token = await service.create_conversation(
        session, tenant=tenant, agent=agent, customer_ref=body.user
    )
    session.add_all(
        Message(
            conversation_id=conversation.id,
            role="customer" if m.role == "user" else "assistant",
            content=m.content,
            agent=agent,
        )
        for m in earlier
        if m.role != "system" and m.content.strip()
    )
    await session.flush()
    turn = await service.answer_turn(
        session,
        conversation=conversation,
        text=last.content,
        agent=agent,
        ensemble=runtime.ensemble,
        selector=runtime.selector,
        lesson_limit=runtime.prompt_lessons,
        embedder=embedder,
        user_id=body.user,
        api_key_id=api_key_id,
    )
    result = turn.result
    input_tokens = sum(o.completion.input_tokens or 0 for o in result.outcomes if o.completion)
    output_tokens = sum(o.completion.output_tokens or 0 for o in result.outcomes if o.completion)
    triad = {
        "agent": agent,
        "decision": result.decision,
        "escalated": turn.escalation is not None,
        "degraded": result.degraded,
        "session_id": str(conversation.id),
        "session_token": token,
        "message_id": turn.reply.id,
    }
    cid, name, text = completion_id(), body.model, turn.reply.content
    headers = {"x-triad-decision": result.decision}
    if not body.stream:
        content = completion_body(
            cid=cid,
            model=name,
            text=text,
            finish="stop",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            triad=triad,
        )
        return JSONResponse(content, headers=headers)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def events() -> AsyncIterator[bytes]:
        created = int(time.time())

        def chunk(**fields: Any) -> bytes:
            return sse(chunk_body(cid=cid, model=name, created=created, **fields))

        yield chunk(delta={"role": "assistant", "content": ""})
        for piece in _PIECES.findall(text):
            yield chunk(delta={"content": piece})
        yield chunk(finish="stop", triad=triad)
        if include_usage:
            yield chunk(usage_=usage(input_tokens, output_tokens))
        yield SSE_DONE

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
