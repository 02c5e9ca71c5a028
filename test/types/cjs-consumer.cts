// A CommonJS TypeScript file: require('rfc6455') is the WebSocket class, with the named exports on it.
import WebSocket = require('rfc6455');
import { WebSocketServer } from 'rfc6455';

const wss: WebSocketServer = new WebSocket.WebSocketServer({ noServer: true });
const ws = new WebSocket.WebSocket('ws://127.0.0.1:1/');
ws.on('message', (data, isBinary: boolean) => console.log(data, isBinary));
void wss;
