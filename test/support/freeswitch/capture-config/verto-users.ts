// The directory users of the real captures (traces/real/README.md): the
// vanilla user 1000 with default_password=s3cret-1000 on domain 127.0.0.1,
// and the users of the reconstructed traces (traces/verto/, fs.example.org).
import type { DirectoryUser } from '../verto-directory.ts';

export const CAPTURE_DOMAIN = '127.0.0.1';

/** conf/vanilla/directory/default/1000.xml with the capture's password. */
export const CAPTURE_USERS: readonly DirectoryUser[] = [
  {
    id: '1000',
    domain: CAPTURE_DOMAIN,
    params: {
      password: 's3cret-1000',
      'vm-password': '1000',
      'jsonrpc-allowed-methods': 'verto',
      'jsonrpc-allowed-event-channels': 'demo,conference,presence',
    },
    variables: {
      toll_allow: 'domestic,international,local',
      accountcode: '1000',
      user_context: 'default',
      effective_caller_id_name: 'Extension 1000',
      effective_caller_id_number: '1000',
      outbound_caller_id_name: 'FreeSWITCH',
      outbound_caller_id_number: '0000000000',
      callgroup: 'techsupport',
    },
  },
];

/** Users of the reconstructed traces: 1008 and 1009 on fs.example.org, password 1234. */
export const RECONSTRUCTED_USERS: readonly DirectoryUser[] = ['1008', '1009'].map((id) => ({
  id,
  domain: 'fs.example.org',
  params: { password: '1234', 'jsonrpc-allowed-methods': 'verto,echo' },
  variables: { user_context: 'default', effective_caller_id_name: `Extension ${id}`, effective_caller_id_number: id },
}));
