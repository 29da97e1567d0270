// An example chat server (node:http) on LLMPotoModule: each user's model preference and recent
// messages live in their session. In-memory by default; with REDIS_URL, every instance shares
// the sessions through Redis (prefix 'chat:').
//
//   node examples/chat-server.js            # PORT (default 3000)
//   curl -H 'x-user-id: alice' -X PUT -d '{"model":"llm2"}' localhost:3000/model
//   curl -H 'x-user-id: alice' -X POST -d '{"message":"hi"}' localhost:3000/chat
//   curl -H 'x-user-id: alice' localhost:3000/session
'use strict';
const http = require('node:http');
const { LLMPotoModule, PotoModule, RedisSessionProvider, runWithUser } = require('poto-sessions');

const MODELS = new Set(['llm1', 'llm2', 'llm3']);
const HISTORY = 20;

class ChatServerModule extends LLMPotoModule {
  createDefaultSessionData(userId) {
    return { ...super.createDefaultSessionData(userId), messages: [] };
  }

  async chat(message) {
    const model = await this.getUserModel();
    const reply = `[${model}] you said: ${message}`;
    await this.updateUserSession((session) => {
      const messages = Array.isArray(session.messages) ? session.messages : [];
      messages.push({ role: 'user', content: message, at: new Date() }, { role: 'assistant', content: reply, at: new Date() });
      session.messages = messages.slice(-HISTORY);
    });
    return { model, reply };
  }
}

function createServer(module = new ChatServerModule()) {
  return http.createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.url === '/stats' && req.method === 'GET') return send(200, await module.getSessionStats());
      const user = req.headers['x-user-id'];
      if (typeof user !== 'string' || user === '') return send(401, { error: 'x-user-id header required' });
      let body = '';
      for await (const chunk of req) body += chunk;
      const input = body ? JSON.parse(body) : {};
      await runWithUser(user, async () => {
        if (req.url === '/model' && req.method === 'GET') return send(200, { model: await module.getUserModel() });
        if (req.url === '/model' && req.method === 'PUT') {
          if (!MODELS.has(input.model)) return send(400, { error: `model must be one of ${[...MODELS]}` });
          await module.updateUserModel(input.model);
          return send(200, { model: input.model });
        }
        if (req.url === '/chat' && req.method === 'POST') {
          if (typeof input.message !== 'string') return send(400, { error: 'message required' });
          return send(200, await module.chat(input.message));
        }
        if (req.url === '/session' && req.method === 'GET') return send(200, await module.getUserSession());
        if (req.url === '/session' && req.method === 'DELETE') {
          await module.deleteUserSession();
          return send(204, {});
        }
        return send(404, { error: 'not found' });
      });
    } catch (error) {
      send(error instanceof SyntaxError ? 400 : 500, { error: error.message, code: error.code });
    }
  });
}

if (require.main === module) {
  if (process.env.REDIS_URL) {
    PotoModule.setSessionProvider(new RedisSessionProvider(process.env.REDIS_URL, { prefix: 'chat:' }));
  }
  const port = Number(process.env.PORT || 3000);
  createServer().listen(port, '127.0.0.1', () => {
    console.log(`chat server on http://127.0.0.1:${port} (${process.env.REDIS_URL ? 'Redis' : 'in-memory'} sessions)`);
  });
}

module.exports = { ChatServerModule, createServer };
