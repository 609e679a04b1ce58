import { describe, expect, it } from 'vitest'
import { ApiError, fieldMessages, formField, readableMessage, toProblem } from '@/api/problem'

describe('problem details become readable messages', () => {
  it.each([
    [{ status: 409, detail: 'Customer name is taken.' }, 'Customer name is taken.'],
    [{ status: 403, title: 'Forbidden' }, 'Forbidden'],
    [{ status: 403, title: 'Error' }, 'You do not have permission to do this.'],
    [{ status: 0 }, 'The server cannot be reached. Check the connection and try again.'],
    [{ status: 500 }, 'A service is unavailable right now. Try again shortly.'],
    [{ status: 418 }, 'The request was not accepted.'],
  ])('%o → %s', (problem, message) => {
    expect(readableMessage(problem)).toBe(message)
  })

  it('maps the request-body field path onto the form field', () => {
    expect(formField('body.name')).toBe('name')
    expect(formField('body.contacts.0.mobile')).toBe('contacts.0.mobile')
    expect(formField('name')).toBe('name')
    expect(formField('body')).toBe('body')
  })

  it('joins two messages for one field', () => {
    const problem = {
      status: 422,
      errors: [
        { field: 'body.mobile', message: 'too short' },
        { field: 'body.mobile', message: 'not a number' },
        { field: 'body.name', message: 'required' },
      ],
    }
    expect(fieldMessages(problem)).toEqual({ mobile: 'too short; not a number', name: 'required' })
  })

  it('reads problem+json, FastAPI default errors and non-JSON answers', () => {
    expect(toProblem(409, { type: 'https://crm/problems/duplicate', title: 'Conflict', detail: 'dup' })).toMatchObject({
      status: 409,
      detail: 'dup',
    })
    expect(toProblem(422, { detail: [{ loc: ['body', 'name'], msg: 'Field required', type: 'missing' }] }).errors).toEqual([
      { field: 'body.name', message: 'Field required', code: 'missing' },
    ])
    expect(toProblem(502, '<html>Bad gateway</html>', 'Bad Gateway')).toEqual({ status: 502, title: 'Bad Gateway' })
  })

  it('an ApiError carries the slug, status and field messages', () => {
    const error = new ApiError({ status: 409, type: 'https://crm.example.com/problems/duplicate-customer', detail: 'Similar customers exist.', errors: [{ field: 'body.name', message: 'similar' }] })
    expect(error.slug).toBe('duplicate-customer')
    expect(new ApiError({ status: 409, type: 'urn:crm:problem:possible-duplicate' }).slug).toBe('possible-duplicate')
    expect(new ApiError({ status: 500 }).slug).toBe('')
    expect(error.status).toBe(409)
    expect(error.message).toBe('Similar customers exist.')
    expect(error.fields).toEqual({ name: 'similar' })
  })
})
