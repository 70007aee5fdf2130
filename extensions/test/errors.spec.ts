import {
  APIError,
  abortedError,
  errorFromResponse,
  errorMessage,
  fieldError,
  isAbortError,
  parseBody,
  unreachableError
} from '../src/api/errors';

describe('errorFromResponse', () => {
  test("uses the server's error text and field errors", () => {
    const body = {
      status: 400,
      error: 'Invalid input for pipeline x: name',
      errors: [{ field: 'body.name', message: 'bad name' }]
    };
    const err = errorFromResponse(400, 'Bad Request', body);
    expect(err).toBeInstanceOf(APIError);
    expect(err.message).toBe('Invalid input for pipeline x: name');
    expect(err.status).toBe(400);
    expect(err.errors).toEqual([{ field: 'body.name', message: 'bad name' }]);
    expect(err.body).toBe(body);
  });

  test('falls back to a message field', () => {
    expect(errorFromResponse(500, 'Server Error', { message: 'boom' }).message).toBe('boom');
  });

  test('an HTML 404 means the server extension is missing', () => {
    const err = errorFromResponse(404, 'Not Found', '<html>404</html>');
    expect(err.message).toMatch(/workspace server extension did not answer/);
    expect(err.errors).toEqual([]);
  });

  test('an empty or unknown body gives the status', () => {
    expect(errorFromResponse(404, 'Not Found', null).message).toBe('Request failed: 404 Not Found');
    expect(errorFromResponse(502, 'Bad Gateway', { detail: 1 }).message).toBe(
      'Request failed: 502 Bad Gateway'
    );
  });

  test('keeps a failed promotion report url in the body', () => {
    const err = errorFromResponse(400, 'Bad Request', {
      error: 'test run failed',
      report_url: '/r'
    });
    expect(err.body.report_url).toBe('/r');
  });
});

test('parseBody: JSON, text, empty', () => {
  expect(parseBody('{"a": 1}')).toEqual({ a: 1 });
  expect(parseBody('plain')).toBe('plain');
  expect(parseBody('')).toBeNull();
});

test('aborted and unreachable errors', () => {
  expect(isAbortError(abortedError())).toBe(true);
  expect(isAbortError({ name: 'AbortError' })).toBe(true);
  expect(isAbortError(unreachableError())).toBe(false);
  expect(unreachableError().status).toBe(0);
  expect(isAbortError(null)).toBe(false);
});

test('errorMessage and fieldError', () => {
  expect(errorMessage(new Error('x'))).toBe('x');
  expect(errorMessage('text')).toBe('text');
  expect(errorMessage(new Error(''))).toBe('Unknown error');
  const errors = [
    { field: 'body.parameters.top_n', message: 'not an int' },
    { field: 'name', message: 'taken' }
  ];
  expect(fieldError(errors, 'top_n')).toBe('not an int');
  expect(fieldError(errors, 'name')).toBe('taken');
  expect(fieldError(errors, 'n')).toBeUndefined();
  expect(fieldError(undefined, 'name')).toBeUndefined();
});
