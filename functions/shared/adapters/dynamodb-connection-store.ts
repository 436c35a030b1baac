/**
 * ConnectionStore on one DynamoDB table (pk/sk strings, TTL attribute `ttl`):
 *
 *   pk = conn#<connectionId>  sk = meta             the connection (role, principal, send window)
 *   pk = conn#<connectionId>  sk = room#<roomId>    the rooms a connection is in (with nickname)
 *   pk = room#<roomId>        sk = member#<connId>  the members of a room (Query, never Scan)
 *   pk = room#<roomId>        sk = nick#<key>       nickname reservation (unique per room)
 *
 * Connection items also carry gsi1pk = conns#<shard>, gsi1sk = connectionId: a sparse,
 * keys-only index that lets broadcast read every connection at a cost that grows with the
 * number of connections, not with the table.
 */
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
  type QueryCommandInput,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  NotInRoomError,
} from '../domain/errors.js';
import { nicknameKey } from '../domain/rules.js';
import type { Connection, ConnectionStore, Membership, Role } from '../ports.js';

/** API Gateway closes every connection after 2 h; TTL cleans up after a lost `$disconnect`. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 15 * 60;
export const CONNECTION_INDEX = 'ConnectionsByShard';
export const CONNECTION_SHARDS = 8;

const key = {
  connection: (id: string) => ({ pk: { S: `conn#${id}` }, sk: { S: 'meta' } }),
  roomOf: (id: string, roomId: string) => ({ pk: { S: `conn#${id}` }, sk: { S: `room#${roomId}` } }),
  member: (roomId: string, id: string) => ({ pk: { S: `room#${roomId}` }, sk: { S: `member#${id}` } }),
  nickname: (roomId: string, nickname: string) => ({
    pk: { S: `room#${roomId}` },
    sk: { S: `nick#${nicknameKey(nickname)}` },
  }),
};

export function shardOf(connectionId: string): number {
  return createHash('sha1').update(connectionId).digest().readUInt16BE(0) % CONNECTION_SHARDS;
}

type Item = Record<string, AttributeValue>;
const str = (item: Item, name: string): string => item[name]?.S ?? '';

function toMembership(item: Item): Membership {
  return {
    connectionId: str(item, 'connectionId'),
    roomId: str(item, 'roomId'),
    nickname: str(item, 'nickname'),
  };
}

/** The connection's item (also used to bulk-load tables in benchmarks and tests). */
export function connectionItem(c: Connection, ttl: number): Item {
  return {
    ...key.connection(c.connectionId),
    connectionId: { S: c.connectionId },
    role: { S: c.role },
    principalId: { S: c.principalId },
    connectedAt: { N: String(c.connectedAt) },
    ...(c.displayName ? { displayName: { S: c.displayName } } : {}),
    gsi1pk: { S: `conns#${shardOf(c.connectionId)}` },
    gsi1sk: { S: c.connectionId },
    ttl: { N: String(ttl) },
  };
}

/** Where a room member stands on the room's delivery roster (see ConnectionStore.enterRoom). */
export type MemberState = 'joining' | 'active' | 'leaving';

/** The three items of a membership: the connection's room, the room's member, the nickname. */
export function membershipItems(
  m: Membership,
  ttl: number,
  state: MemberState = 'joining',
): { roomOf: Item; member: Item; nickname: Item } {
  const attributes = {
    connectionId: { S: m.connectionId },
    roomId: { S: m.roomId },
    nickname: { S: m.nickname },
    ttl: { N: String(ttl) },
  };
  return {
    roomOf: { ...key.roomOf(m.connectionId, m.roomId), ...attributes },
    member: { ...key.member(m.roomId, m.connectionId), ...attributes, state: { S: state } },
    nickname: { ...key.nickname(m.roomId, m.nickname), ...attributes },
  };
}

export interface DynamoDbConnectionStoreOptions {
  now?: () => Date;
}

export class DynamoDbConnectionStore implements ConnectionStore {
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbConnectionStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Epoch seconds after which TTL may delete a record (a connection lives 2 h at most). */
  private expiry(): number {
    return Math.floor(this.now().getTime() / 1000) + CONNECTION_TTL_SECONDS;
  }

  async putConnection(c: Connection): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: connectionItem(c, this.expiry()) }),
    );
  }

  async getConnection(connectionId: string): Promise<Connection | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.connection(connectionId),
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return {
      connectionId,
      role: str(Item, 'role') as Role,
      principalId: str(Item, 'principalId'),
      connectedAt: Number(Item.connectedAt?.N ?? 0),
      ...(Item.displayName?.S ? { displayName: Item.displayName.S } : {}),
    };
  }

  async enterRoom(m: Membership): Promise<string[]> {
    const items = membershipItems(m, this.expiry());
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: key.connection(m.connectionId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: items.roomOf,
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: { TableName: this.tableName, Item: items.member },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: items.nickname,
                // A reservation past its TTL (holder lost without $disconnect) is free: TTL
                // deletion can lag by days, and roomMembers already treats it as gone.
                ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
                ExpressionAttributeNames: { '#ttl': 'ttl' },
                ExpressionAttributeValues: { ':now': { N: String(Math.floor(this.now().getTime() / 1000)) } },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const failed = (i: number) => error.CancellationReasons?.[i]?.Code === 'ConditionalCheckFailed';
        if (failed(0)) throw new ConnectionNotFoundError();
        if (failed(1)) throw new AlreadyInRoomError(m.roomId);
        if (failed(3)) throw new NicknameTakenError(m.nickname, m.roomId);
      }
      throw error;
    }
    const members: string[] = [];
    try {
      for await (const page of this.members(m.roomId, 'leaving'))
        members.push(...page.map((p) => p.nickname));
    } catch (error) {
      // The entry was written but the caller will hear `internal`: take it back, so an error
      // still means nothing changed (best effort; what remains is whole and expires by TTL).
      await this.deleteMembership(m).catch(() => undefined);
      throw error;
    }
    return members;
  }

  async undoEnter(m: Membership): Promise<void> {
    await this.deleteMembership(m);
  }

  async exitRoom(connectionId: string, roomId: string, known?: Membership): Promise<Membership> {
    // The transaction's conditions still catch a membership that went away since it was read.
    const membership = known ?? (await this.getMembership(connectionId, roomId));
    if (!membership) throw new NotInRoomError(roomId);
    const { roomOf, nickname } = this.membershipDeletes(membership);
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            roomOf,
            {
              Update: {
                TableName: this.tableName,
                Key: key.member(roomId, connectionId),
                UpdateExpression: 'SET #state = :leaving',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':leaving': { S: 'leaving' } },
              },
            },
            nickname,
          ],
        }),
      );
    } catch (error) {
      // Someone else removed it between our read and write (a racing exit or disconnect).
      if (error instanceof TransactionCanceledException) throw new NotInRoomError(roomId);
      throw error;
    }
    return membership;
  }

  async activateMember(roomId: string, connectionId: string): Promise<void> {
    await this.moveMember(roomId, connectionId, 'joining', 'active');
  }

  async forgetMember(roomId: string, connectionId: string): Promise<void> {
    await this.moveMember(roomId, connectionId, 'leaving', undefined);
  }

  /** Moves a member from one roster state to another (undefined = off the roster); no-op otherwise. */
  private async moveMember(
    roomId: string,
    connectionId: string,
    from: MemberState,
    to: MemberState | undefined,
  ): Promise<void> {
    const common = {
      TableName: this.tableName,
      Key: key.member(roomId, connectionId),
      ConditionExpression: '#state = :from',
      ExpressionAttributeNames: { '#state': 'state' },
    };
    try {
      await this.client.send(
        to === undefined
          ? new DeleteItemCommand({ ...common, ExpressionAttributeValues: { ':from': { S: from } } })
          : new UpdateItemCommand({
              ...common,
              UpdateExpression: 'SET #state = :to',
              ExpressionAttributeValues: { ':from': { S: from }, ':to': { S: to } },
            }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Deletes of a membership's three items; the nickname only while it is still this connection's. */
  private membershipDeletes(m: Membership): Record<'roomOf' | 'member' | 'nickname', TransactWriteItem> {
    return {
      roomOf: {
        Delete: {
          TableName: this.tableName,
          Key: key.roomOf(m.connectionId, m.roomId),
          ConditionExpression: 'attribute_exists(pk)',
        },
      },
      member: { Delete: { TableName: this.tableName, Key: key.member(m.roomId, m.connectionId) } },
      nickname: {
        Delete: {
          TableName: this.tableName,
          Key: key.nickname(m.roomId, m.nickname),
          ConditionExpression: 'attribute_not_exists(pk) OR connectionId = :c',
          ExpressionAttributeValues: { ':c': { S: m.connectionId } },
        },
      },
    };
  }

  /** Removes every item of a membership; tolerates a racing exit or a nickname now someone else's. */
  private async deleteMembership(m: Membership): Promise<void> {
    try {
      await this.client.send(
        new TransactWriteItemsCommand({ TransactItems: Object.values(this.membershipDeletes(m)) }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: key.roomOf(m.connectionId, m.roomId) }),
      );
      await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: key.member(m.roomId, m.connectionId) }),
      );
    }
  }

  async getMembership(connectionId: string, roomId: string): Promise<Membership | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key.roomOf(connectionId, roomId),
        ConsistentRead: true,
      }),
    );
    return Item ? toMembership(Item) : undefined;
  }

  async listMemberships(connectionId: string): Promise<Membership[]> {
    const memberships: Membership[] = [];
    for await (const items of this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :room)',
      ExpressionAttributeValues: { ':pk': { S: `conn#${connectionId}` }, ':room': { S: 'room#' } },
      ConsistentRead: true,
    })) {
      memberships.push(...items.map(toMembership));
    }
    return memberships;
  }

  roomMembers(roomId: string): AsyncIterable<Membership[]> {
    return this.members(roomId, 'joining');
  }

  /** Pages of a room's live members, leaving out those in state `excluded`. */
  private async *members(roomId: string, excluded: MemberState): AsyncIterable<Membership[]> {
    for await (const items of this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
      // TTL deletion lags; an expired membership is treated as gone already. Items written
      // before roster states existed have none and count as active.
      FilterExpression: '#ttl > :now AND (attribute_not_exists(#state) OR #state <> :excluded)',
      ProjectionExpression: 'connectionId, roomId, nickname',
      ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state' },
      ExpressionAttributeValues: {
        ':pk': { S: `room#${roomId}` },
        ':member': { S: 'member#' },
        ':now': { N: String(Math.floor(this.now().getTime() / 1000)) },
        ':excluded': { S: excluded },
      },
      ConsistentRead: true,
    })) {
      if (items.length > 0) yield items.map(toMembership);
    }
  }

  async *allConnections(): AsyncIterable<string[]> {
    for (let shard = 0; shard < CONNECTION_SHARDS; shard++) {
      for await (const items of this.query({
        IndexName: CONNECTION_INDEX,
        KeyConditionExpression: 'gsi1pk = :shard',
        ExpressionAttributeValues: { ':shard': { S: `conns#${shard}` } },
      })) {
        if (items.length > 0) yield items.map((item) => str(item, 'gsi1sk'));
      }
    }
  }

  async removeConnection(connectionId: string, known?: Membership[]): Promise<Membership[]> {
    const memberships = known ?? (await this.listMemberships(connectionId));
    for (const m of memberships) await this.deleteMembership(m);
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: key.connection(connectionId) }),
    );
    return memberships;
  }

  async takeSendToken(
    connectionId: string,
    limit: number,
    windowSeconds: number,
    now: Date,
  ): Promise<boolean> {
    const window = String(Math.floor(now.getTime() / 1000 / windowSeconds) * windowSeconds);
    const update = (input: { expression: string; condition: string; values: Item }) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key.connection(connectionId),
          UpdateExpression: input.expression,
          ConditionExpression: input.condition,
          ExpressionAttributeValues: input.values,
        }),
      );
    // Two rounds: a concurrent request may open the new window between our two updates.
    for (let round = 0; round < 2; round++) {
      try {
        await update({
          expression: 'SET sendCount = sendCount + :one',
          condition: 'sendWindow = :w AND sendCount < :limit',
          values: { ':one': { N: '1' }, ':w': { N: window }, ':limit': { N: String(limit) } },
        });
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        await update({
          expression: 'SET sendWindow = :w, sendCount = :one',
          condition: 'attribute_exists(pk) AND (attribute_not_exists(sendWindow) OR sendWindow < :w)',
          values: { ':one': { N: '1' }, ':w': { N: window } },
        });
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return false;
  }

  private async *query(input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<Item[]> {
    for await (const page of paginateQuery(
      { client: this.client },
      { TableName: this.tableName, ...input },
    )) {
      yield page.Items ?? [];
    }
  }
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}
