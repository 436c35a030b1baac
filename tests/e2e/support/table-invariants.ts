/**
 * Reads the whole chat table (tests only: a Scan is fine on a local table) and lists every
 * way its items point at each other inconsistently:
 *
 *   conn#<c>/room#<r>  needs  conn#<c>/meta, room#<r>/member#<c>, room#<r>/nick#<key> held by <c>
 *   room#<r>/member#<c> (not `leaving`)  needs  conn#<c>/room#<r>
 *   room#<r>/nick#<key>  needs  conn#<holder>/room#<r> with that nickname
 *
 * A `leaving` roster entry is an exit whose `left` event the fanout has not delivered yet.
 */
import { type AttributeValue, type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { nicknameKey } from '../../../functions/shared/domain/rules';

type Item = Record<string, AttributeValue>;

export async function scanTable(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

export async function tableInconsistencies(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const items = await scanTable(client, tableName);
  const byKey = new Map(items.map((item) => [`${item.pk?.S}|${item.sk?.S}`, item]));
  const get = (pk: string, sk: string) => byKey.get(`${pk}|${sk}`);
  const problems: string[] = [];
  for (const item of items) {
    const pk = item.pk?.S ?? '';
    const sk = item.sk?.S ?? '';
    const connectionId = item.connectionId?.S ?? '';
    const roomId = item.roomId?.S ?? '';
    const nickname = item.nickname?.S ?? '';
    if (pk.startsWith('conn#') && sk.startsWith('room#')) {
      if (!get(pk, 'meta')) problems.push(`${pk}/${sk} has no connection record`);
      const member = get(`room#${roomId}`, `member#${connectionId}`);
      if (!member) problems.push(`${pk}/${sk} has no room#${roomId}/member#${connectionId}`);
      else if (member.state?.S === 'leaving') problems.push(`${pk}/${sk} is on the roster as leaving`);
      const nick = get(`room#${roomId}`, `nick#${nicknameKey(nickname)}`);
      if (nick?.connectionId?.S !== connectionId) {
        problems.push(`${pk}/${sk} does not hold its nickname ${JSON.stringify(nickname)}`);
      }
    } else if (pk.startsWith('room#') && sk.startsWith('member#')) {
      if (item.state?.S !== 'leaving' && !get(`conn#${connectionId}`, `room#${roomId}`)) {
        problems.push(
          `${pk}/${sk} (${item.state?.S ?? 'no state'}) has no conn#${connectionId}/room#${roomId}`,
        );
      }
    } else if (pk.startsWith('room#') && sk.startsWith('nick#')) {
      const holder = get(`conn#${connectionId}`, `room#${roomId}`);
      if (holder?.nickname?.S !== nickname) {
        problems.push(`${pk}/${sk} is held by conn#${connectionId}, which is not in the room under it`);
      }
    }
  }
  return problems;
}

/** Items of the table that belong to a room (its roster and nicknames). */
export async function roomItems(client: DynamoDBClient, tableName: string, roomId: string): Promise<Item[]> {
  return (await scanTable(client, tableName)).filter((item) => item.pk?.S === `room#${roomId}`);
}
