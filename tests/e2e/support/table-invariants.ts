/**
 * Reads the whole chat table (tests only: a Scan is fine on a local table) and lists every
 * way its items point at each other inconsistently, once the stack has settled (nothing
 * queued or running):
 *
 *   conn#<c>/room#<r> (an entry E)      needs  room#<r>/nick#<key> held by E;
 *                     active             and   room#<r>/member#<c> for E (on the roster);
 *                     reserved/queued    and   no roster member for E (not logged yet);
 *   room#<r>/member#<c> (E)             needs  conn#<c>/room#<r> = E, active/leaving/exited;
 *   room#<r>/nick#<key> (E)             needs  conn#<c>/room#<r> = E.
 *
 * A `leaving`/`exited` entry still on the roster is an exit whose `left` could not be queued
 * or logged (a failed $disconnect): consistent, and finished by a later 410 or TTL.
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

/**
 * The chat's state: connections, entries, rosters and nicknames. Rooms' logs (history, kept for
 * the retention, with their marks), proof of cancelled entries, the window a slice keeps of one
 * that left and failure counts expire on their own and are left out.
 */
export async function chatStateItems(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  return (await scanTable(client, tableName)).filter((item) => {
    const pk = item.pk?.S ?? '';
    const sk = item.sk?.S ?? '';
    return (
      !pk.startsWith('log#') &&
      !pk.startsWith('group#') &&
      sk !== 'logmark' &&
      !sk.startsWith('cancelled#') &&
      !(pk.startsWith('slice#') && sk.startsWith('l#'))
    );
  });
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
    const entryId = item.entryId?.S ?? '';
    const at = `${pk}/${sk} (${entryId}${item.state?.S ? `, ${item.state.S}` : ''})`;
    if (pk.startsWith('conn#') && sk.startsWith('room#')) {
      const nick = get(`room#${roomId}`, `nick#${nicknameKey(item.nickname?.S ?? '')}`);
      if (nick?.entryId?.S !== entryId) problems.push(`${at} does not hold its nickname`);
      const member = get(`room#${roomId}`, `member#${connectionId}`);
      const onRoster = member?.entryId?.S === entryId;
      const state = item.state?.S;
      if (state === 'active' && !onRoster) problems.push(`${at} is active but not on the roster`);
      if ((state === 'reserved' || state === 'queued') && onRoster)
        problems.push(`${at} is on the roster already`);
    } else if (pk.startsWith('room#') && sk.startsWith('member#')) {
      const entry = get(`conn#${connectionId}`, `room#${roomId}`);
      const state = entry?.state?.S ?? '';
      if (entry?.entryId?.S !== entryId || !['active', 'leaving', 'exited'].includes(state)) {
        problems.push(`${at} is on the roster without its entry (${entry?.entryId?.S ?? 'none'} ${state})`);
      }
    } else if (pk.startsWith('room#') && sk.startsWith('nick#')) {
      if (get(`conn#${connectionId}`, `room#${roomId}`)?.entryId?.S !== entryId) {
        problems.push(`${at} is held for an entry that is gone`);
      }
    }
  }
  return problems;
}

/** Items of the table that belong to a room: its roster and nicknames (not its log). */
export async function roomItems(client: DynamoDBClient, tableName: string, roomId: string): Promise<Item[]> {
  return (await scanTable(client, tableName)).filter(
    (item) => item.pk?.S === `room#${roomId}` && item.sk?.S !== 'logmark',
  );
}
