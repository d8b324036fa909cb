const express = require("express");
import { sign } from "./token.js";

class SessionStore {
  constructor() {
    this.items = new Map();
  }
  get(id) {
    return this.items.get(id);
  }
}

function login(req, res) {
  res.json({ token: sign(req.body.user) });
}

const logout = (req, res) => res.status(204).end();

const app = express();
app.post("/login", login);
app.delete("/logout", logout);
module.exports = { SessionStore, login };
